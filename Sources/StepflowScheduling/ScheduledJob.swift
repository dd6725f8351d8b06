/// Work the ``Scheduler`` runs on an interval: a plugin call or a built-in collector or check.
public protocol ScheduledJob: Sendable {
    /// A unique name, used in logs, `/health` and self-metrics (e.g. `plugin:filesystem`, `process`).
    var name: String { get }
    /// What the job is, for `/health` details: `plugin` or `builtin`.
    var kind: String { get }
    /// `true` while an earlier call that missed its deadline is still running and cannot be interrupted
    /// (an in-process plugin call). The scheduler does not call ``run()`` again until it is `false`.
    var isBusy: Bool { get }
    /// Does the work once. Throws to report a failure. When the calling task is cancelled (its deadline
    /// passed, or the host is stopping) it must return promptly, by throwing if it has to.
    func run() async throws
    /// Called once when the scheduler stops, after the last ``run()`` has returned: release resources here.
    func shutdown() async
    /// For a job that knows when it next has work (the alert tick: when the next rule is due): the wait before
    /// the next call, at least the schedule's interval. `nil` (the default): every interval.
    /// Asked after each successful call; a failing job backs off as usual.
    func nextRunDelay() async -> Duration?
    /// Fired by a job whose ``nextRunDelay()`` may have become shorter (a rule was added), to end the wait early
    /// (but not before one interval since the last call started).
    var wakeSignal: WakeSignal? { get }
}

extension ScheduledJob {
    public var isBusy: Bool { false }
    public func shutdown() async {}
    public func nextRunDelay() async -> Duration? { nil }
    public var wakeSignal: WakeSignal? { nil }
}

/// When and how long a job may run.
public struct JobSchedule: Sendable, Hashable {
    /// The time from one start to the next while the job succeeds.
    public var interval: Duration
    /// The deadline of one call.
    public var timeout: Duration

    public init(interval: Duration, timeout: Duration) {
        self.interval = interval
        self.timeout = timeout
    }
}
