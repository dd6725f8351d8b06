import ServiceLifecycle

/// Runs the alert rules that read logs as soon as new log entries are written (the spec's `check_alert_rules`), not
/// only on their interval. It reads a signal that keeps only the newest element, so writes that arrive while an
/// evaluation runs are covered by one more run after it, never by a pile of them.
struct LogRuleTrigger: Service {
    let engine: AlertEngine
    let written: AsyncStream<Void>

    func run() async {
        for await _ in written.cancelOnGracefulShutdown() {
            _ = await engine.evaluateLogRules()
        }
    }
}
