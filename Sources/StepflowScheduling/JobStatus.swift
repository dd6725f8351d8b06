import Foundation
import StepflowCore

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
    /// The circuit breaker: `open` while the job waits out a cool-down after repeated failures,
    /// `half-open` during the trial call that follows.
    public var breaker: BreakerState = .closed
    /// How many times the breaker opened.
    public var breakerOpenings: UInt64 = 0
    /// Durations of the calls that returned, as a histogram over ``JobStatus/durationBounds`` (seconds).
    public var durations = DurationHistogram()
    /// How late each call started after its planned time (its interval plus jitter after the previous start):
    /// what a busy host costs the schedule.
    public var lateness = DurationHistogram()
    /// The latest start since the job was added.
    public var maxLateness: Duration = .zero
    /// CPU seconds the job's calls used, in its own code and its child tasks (``CPUAccountingExecutor``); for a
    /// plugin, the host's side of its calls (the plugin's own CPU is the plugin host's to count).
    public var cpuSeconds: Double = 0

    public init(name: String, kind: String, schedule: JobSchedule) {
        self.name = name
        self.kind = kind
        self.schedule = schedule
    }
}

/// A fixed-bucket histogram of call durations, cumulative like Prometheus'.
public struct DurationHistogram: Sendable, Hashable {
    /// Upper bounds in seconds: from 1 ms (a C plugin reading a file) to 30 s (a stuck call's deadline).
    public static let bounds: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    /// Observations per bucket, not cumulative; `counts[i]` is for `bounds[i]`, the last for `+Inf`.
    public private(set) var counts = [UInt64](repeating: 0, count: DurationHistogram.bounds.count + 1)
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    public init() {}

    public mutating func observe(_ duration: Duration) {
        let seconds = duration.inSeconds
        let index = Self.bounds.firstIndex { seconds <= $0 } ?? Self.bounds.count
        counts[index] += 1
        sum += seconds
        count += 1
    }

    /// Cumulative counts per bound (without `+Inf`, which is ``count``).
    public var cumulative: [(bound: Double, count: UInt64)] {
        var running: UInt64 = 0
        return zip(Self.bounds, counts).map { bound, count in
            running += count
            return (bound, running)
        }
    }
}
