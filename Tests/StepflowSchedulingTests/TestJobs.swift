import Clocks
import Foundation
import StepflowScheduling
import Synchronization

/// A job whose behaviour each test sets: succeed, fail, or hang until cancelled.
final class ScriptedJob: ScheduledJob {
    enum Behaviour: Sendable { case succeed, fail, hangUntilCancelled }

    let name: String
    let kind = "test"
    private let state: Mutex<(behaviour: Behaviour, calls: Int, busy: Bool, shutDown: Bool)>

    init(name: String, behaviour: Behaviour) {
        self.name = name
        self.state = Mutex((behaviour, 0, false, false))
    }

    var calls: Int { state.withLock { $0.calls } }
    var wasShutDown: Bool { state.withLock { $0.shutDown } }
    var isBusy: Bool { state.withLock { $0.busy } }

    func set(_ behaviour: Behaviour) { state.withLock { $0.behaviour = behaviour } }
    func setBusy(_ busy: Bool) { state.withLock { $0.busy = busy } }

    func run() async throws {
        let behaviour = state.withLock { state -> Behaviour in
            state.calls += 1
            return state.behaviour
        }
        switch behaviour {
        case .succeed: return
        case .fail: throw TestFailure(message: "scripted failure")
        case .hangUntilCancelled:
            while !Task.isCancelled { await Task.yield() }
            throw CancellationError()
        }
    }

    func shutdown() async { state.withLock { $0.shutDown = true } }
}

/// A job whose every call takes `takes` on the test clock.
final class SlowJob: ScheduledJob {
    let name = "slow"
    let kind = "test"
    let clock: TestClock<Duration>
    let takes: Duration
    private let count = Mutex(0)

    init(clock: TestClock<Duration>, takes: Duration) {
        self.clock = clock
        self.takes = takes
    }

    var calls: Int { count.withLock { $0 } }

    func run() async throws {
        count.withLock { $0 += 1 }
        try await clock.sleep(for: takes)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}


/// A job that asks for its own next call (`nextRunDelay`) and can be woken early, like the alert evaluation job.
final class SelfTimedJob: ScheduledJob {
    let name = "self-timed"
    let kind = "test"
    let wakeSignal: WakeSignal? = WakeSignal()
    private let state = Mutex((calls: 0, wanted: Duration?.none))

    init(wanted: Duration?) {
        state.withLock { $0.wanted = wanted }
    }

    var calls: Int { state.withLock { $0.calls } }
    func want(_ delay: Duration?) { state.withLock { $0.wanted = delay } }

    func run() async throws { state.withLock { $0.calls += 1 } }
    func nextRunDelay() async -> Duration? { state.withLock { $0.wanted } }
}
