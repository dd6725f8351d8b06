/// A job a capability asks the host to schedule: what runs, how often, and whether its health is reported.
///
/// Each capability's builder returns its jobs; the host adds them all to its one ``Scheduler`` (see
/// `MonitoringRuntime` in the README's architecture section).
public struct BuiltinJob: Sendable {
    /// What runs.
    public var job: any ScheduledJob
    /// How often, and the deadline of one call.
    public var schedule: JobSchedule
    /// `true` when `/health` should show the job as a component of its own (its name), judged by its status.
    public var reportsHealth: Bool

    /// `job` every `interval`, each call cut at `timeout`.
    public init(_ job: any ScheduledJob, every interval: Duration, timeout: Duration, reportsHealth: Bool = false) {
        self.job = job
        self.schedule = JobSchedule(interval: interval, timeout: timeout)
        self.reportsHealth = reportsHealth
    }
}

extension Scheduler {
    /// Adds every job of `jobs`, in order.
    public func add(_ jobs: [BuiltinJob]) throws(SchedulerError) {
        for job in jobs { try add(job.job, schedule: job.schedule) }
    }
}
