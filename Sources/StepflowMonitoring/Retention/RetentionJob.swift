import Foundation
import Logging
import StepflowCore
import StepflowScheduling
import StepflowStorage
import Synchronization

/// Deletes metric samples, metric aggregates and health check results older than `metrics.retention_days`, on
/// its schedule, in small batches. `retention_days: 0` keeps everything.
public final class RetentionJob: ScheduledJob {
    public let name = "retention"
    public let kind = "builtin"
    private let metrics: MetricStore
    private let healthChecks: HealthCheckStore
    private let retentionDays: Int
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let deletedRows = Mutex<UInt64>(0)

    /// - Parameters:
    ///   - retentionDays: how many days of rows to keep; 0 keeps everything.
    ///   - now: the current time (tests pass a fixed one).
    public init(
        metrics: MetricStore, healthChecks: HealthCheckStore, retentionDays: Int, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.metrics = metrics
        self.healthChecks = healthChecks
        self.retentionDays = retentionDays
        self.logger = logger
        self.now = now
    }

    /// Rows deleted since start.
    public var deleted: UInt64 { deletedRows.withLock { $0 } }

    public func run() async throws {
        guard retentionDays > 0 else { return }
        let cutoff = now().addingTimeInterval(-Double(retentionDays) * 86_400)
        let samples = try await metrics.deleteSamples(olderThan: cutoff)
            + (try await metrics.deleteAggregates(olderThan: cutoff))
        let results = try await healthChecks.deleteResults(olderThan: cutoff)
        deletedRows.withLock { $0 += UInt64(samples + results) }
        if samples + results > 0 {
            logger.info(
                "expired rows deleted",
                metadata: [
                    "metric_samples": "\(samples)", "health_checks": "\(results)", "retention_days": "\(retentionDays)",
                ])
        }
    }
}
