import StepflowCore
import StepflowScheduling

/// Evaluates the alert rules that are due. Each rule keeps its own interval: after each call the job sleeps until
/// the next rule is due (at least its schedule's interval, at most `idleWait`), and a change of rules or silences
/// wakes it early.
///
/// It does not fail when a rule's query fails: that rule's error is in its evaluation status and on `/metrics`,
/// and the scheduler's backoff must not slow down every other rule.
public final class AlertEvaluationJob: ScheduledJob {
    public let name = "alerts"
    public let kind = "builtin"
    private let engine: AlertEngine
    private let idleWait: Duration
    private let operations: OperationLedger?

    /// - Parameters:
    ///   - idleWait: the longest sleep, also when no rule is enabled.
    ///   - operations: where each evaluation that ran rules is counted (`alert_evaluation`).
    public init(engine: AlertEngine, idleWait: Duration = .seconds(60), operations: OperationLedger? = nil) {
        self.engine = engine
        self.operations = operations
        self.idleWait = idleWait
    }

    public var wakeSignal: WakeSignal? { engine.dueTimesChanged }

    public func nextRunDelay() async -> Duration? {
        min(await engine.delayUntilNextDue() ?? idleWait, idleWait)
    }

    public func run() async throws {
        let started = ContinuousClock.now
        let rules = await engine.evaluateDue()
        if rules > 0 { try? operations?.record(.alertEvaluation, count: rules, duration: started.duration(to: .now)) }
    }
}
