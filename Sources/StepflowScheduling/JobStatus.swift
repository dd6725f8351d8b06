import Foundation

/// Where a job stands, as reported in `/health` and on `/metrics`.
public struct JobStatus: Sendable, Hashable {
    /// The state of a job.
    public enum State: String, Sendable, Hashable {
        /// Registered, not run yet.
        case pending
        /// A call is in progress.
        case running
        /// The last call succeeded.
        case ok
        /// The last call failed or timed out; the job is retried with backoff.
        case failing
        /// A call missed its deadline and has not returned; the job is not called until it does.
        case stuck
        /// The scheduler has stopped.
        case stopped
    }

    public var name: String
    public var kind: String
    public var schedule: JobSchedule
    public var state: State = .pending
    /// Calls started.
    public var runs: UInt64 = 0
    /// Calls that threw.
    public var failures: UInt64 = 0
    /// Calls that missed their deadline.
    public var timeouts: UInt64 = 0
    /// Ticks skipped because an earlier call was still running.
    public var skipped: UInt64 = 0
    /// Failures and timeouts since the last success.
    public var consecutiveFailures: Int = 0
    public var lastError: String?
    public var lastSuccess: Date?
    /// The duration of the last call that returned.
    public var lastDuration: Duration?
    /// Total duration of calls that returned, for averages.
    public var totalDuration: Duration = .zero
    /// The delay before the next call, including backoff.
    public var nextDelay: Duration?

    public init(name: String, kind: String, schedule: JobSchedule) {
        self.name = name
        self.kind = kind
        self.schedule = schedule
    }
}
