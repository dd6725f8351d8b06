import StepflowAlerting
import Synchronization

/// Runs the alert rules that read logs as soon as new log entries are written (the spec's `check_alert_rules`),
/// not only on their interval. Writes that arrive while such an evaluation runs are covered by one more run after
/// it, never by a pile of them.
final class LogAlertTrigger: Sendable {
    private struct State {
        var engine: AlertEngine?
        var running = false
        var again = false
    }

    private let state = Mutex(State())

    /// Starts triggering `engine` (the log writer exists before the alert engine).
    func attach(_ engine: AlertEngine) {
        state.withLock { $0.engine = engine }
    }

    /// Called by the log writer after each committed batch.
    func logsWritten() {
        let engine = state.withLock { state -> AlertEngine? in
            guard let engine = state.engine else { return nil }
            if state.running {
                state.again = true
                return nil
            }
            state.running = true
            return engine
        }
        guard let engine else { return }
        Task {
            while true {
                await engine.evaluateLogRules()
                let more = state.withLock { state -> Bool in
                    if state.again {
                        state.again = false
                        return true
                    }
                    state.running = false
                    return false
                }
                if !more { return }
            }
        }
    }
}

/// A value set after construction, for the closures that need something built later (the notifier's shutdown
/// hook needs the plugin manager, which needs the notifier).
final class Later<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func set(_ newValue: Value) { value.withLock { $0 = newValue } }

    var current: Value? { value.withLock { $0 } }
}
