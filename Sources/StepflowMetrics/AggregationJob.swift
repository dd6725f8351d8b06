import Foundation
import Logging
import StepflowCore
import StepflowScheduling
import StepflowStorage
import Synchronization

/// Rolls raw samples up into interval aggregates (`metrics.enable_aggregation`, `metrics.aggregation_interval`).
///
/// Every `aggregation_interval`, raw samples older than one interval (counted back from the last whole interval)
/// are replaced by one row per series and interval holding the number of samples, their min, max, sum and last
/// value, and the last value in full (buckets and quantiles included). Queries read both, so a range that
/// reaches back past the raw samples is answered from the aggregates.
public final class AggregationJob: ScheduledJob {
    public let name = "aggregation"
    public let kind = "builtin"
    private let store: MetricStore
    private let interval: Duration
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let rolled = Mutex<(rows: UInt64, runs: UInt64)>((0, 0))

    /// - Parameters:
    ///   - interval: the aggregation interval: both the age past which samples are rolled up and the length of
    ///     one aggregate.
    ///   - now: the current time (tests pass a fixed one).
    public init(
        store: MetricStore, interval: Duration, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    /// Raw samples rolled up, and runs, since start.
    public var counts: (rows: UInt64, runs: UInt64) { rolled.withLock { $0 } }

    public func run() async throws {
        let milliseconds = max(interval.clampedMilliseconds, 1)
        let cutoff = now().unixMilliseconds - milliseconds
        let rows = try await store.rollUp(before: cutoff, intervalMilliseconds: milliseconds)
        rolled.withLock {
            $0.rows += UInt64(rows)
            $0.runs += 1
        }
        if rows > 0 {
            logger.debug("raw samples rolled up into aggregates", metadata: ["rows": "\(rows)", "interval": "\(interval)"])
        }
    }
}
