import StepflowCore
import StepflowScheduling

/// Evaluates the alert rules that are due, on its schedule (a short tick: each rule keeps its own interval).
///
/// It does not fail when a rule's query fails: that rule's error is in its evaluation status and on `/metrics`,
/// and the scheduler's backoff must not slow down every other rule.
public final class AlertEvaluationJob: ScheduledJob {
    public let name = "alerts"
    public let kind = "builtin"
    private let engine: AlertEngine

    public init(engine: AlertEngine) {
        self.engine = engine
    }

    public func run() async throws {
        await engine.evaluateDue()
    }
}
