import Foundation
import Logging
import StepflowCore
import StepflowScheduling
import Synchronization

/// Deletes metric samples, metric aggregates and health check results older than `metrics.retention_days`, log
/// entries older than `logs.retention_days`, spans older than `tracing.retention_days`, and alerts resolved (and
/// silences ended) more than `alerts.retention_days` ago, on its schedule, in small batches. A retention of 0 days
/// keeps everything.
public final class RetentionJob: ScheduledJob {
    public let name = "retention"
    public let kind = "builtin"
    private let metrics: MetricStore
    private let healthChecks: HealthCheckStore
    private let retentionDays: Int
    private let logs: (store: LogStore, days: Int)?
    private let traces: (store: TraceStore, days: Int)?
    private let alerts: (store: AlertStore, days: Int)?
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let deletedRows = Mutex<UInt64>(0)

    /// - Parameters:
    ///   - retentionDays: how many days of rows to keep; 0 keeps everything.
    ///   - now: the current time (tests pass a fixed one).
    ///   - logs: the log store and `logs.retention_days`, when logs are kept.
    ///   - traces: the trace store and `tracing.retention_days`, when spans are kept.
    ///   - alerts: the alert store and `alerts.retention_days`, for resolved alerts and ended silences.
    public init(
        metrics: MetricStore, healthChecks: HealthCheckStore, retentionDays: Int,
        logs: (store: LogStore, days: Int)? = nil, traces: (store: TraceStore, days: Int)? = nil,
        alerts: (store: AlertStore, days: Int)? = nil, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.metrics = metrics
        self.healthChecks = healthChecks
        self.retentionDays = retentionDays
        self.logs = logs
        self.traces = traces
        self.alerts = alerts
        self.logger = logger
        self.now = now
    }

    /// Rows deleted since start.
    public var deleted: UInt64 { deletedRows.withLock { $0 } }

    public func run() async throws {
        let current = now()
        func cutoff(_ days: Int) -> Date { current.addingTimeInterval(-Double(days) * 86_400) }
        var logEntries = 0
        var spans = 0
        var history = 0
        if let logs, logs.days > 0 { logEntries = try await logs.store.deleteEntries(olderThan: cutoff(logs.days)) }
        if let traces, traces.days > 0 { spans = try await traces.store.deleteSpans(olderThan: cutoff(traces.days)) }
        if let alerts, alerts.days > 0 { history = try await alerts.store.deleteHistory(olderThan: cutoff(alerts.days)) }
        deletedRows.withLock { $0 += UInt64(logEntries + spans + history) }
        if logEntries + spans + history > 0 {
            logger.info(
                "expired log entries, spans and alert history deleted",
                metadata: ["log_entries": "\(logEntries)", "spans": "\(spans)", "alerts_and_silences": "\(history)"])
        }
        guard retentionDays > 0 else { return }
        let cutoff = cutoff(retentionDays)
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
