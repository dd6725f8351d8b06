/// The spec's `MonitoringMetrics`: the host's totals since it started, in one value
/// (`MonitoringRuntime.monitoring.metrics()`).
public struct MonitoringMetrics: Sendable, Hashable {
    /// Samples the metrics engine accepted.
    public var totalMetricsCollected: UInt64
    /// Log entries accepted.
    public var totalLogsProcessed: UInt64
    /// Spans recorded (ended or imported).
    public var totalTracesGenerated: UInt64
    /// Alerts that started firing.
    public var totalAlertsFired: UInt64
    /// Mean duration of one metric collection (plugin collectors and the process collector).
    public var averageCollectionTime: Duration
    /// Mean duration of one export (log exporters, remote write, and exports reported through
    /// ``MonitoringMonitoring/recordExportOperation(exporter:count:duration:)``).
    public var averageExportTime: Duration
    /// Share of `getMetric` calls answered from memory (1 before any call).
    public var cacheHitRate: Double
    /// Bytes of the database file and its WAL.
    public var storageUsage: UInt64

    public init(
        totalMetricsCollected: UInt64 = 0, totalLogsProcessed: UInt64 = 0, totalTracesGenerated: UInt64 = 0,
        totalAlertsFired: UInt64 = 0, averageCollectionTime: Duration = .zero, averageExportTime: Duration = .zero,
        cacheHitRate: Double = 1, storageUsage: UInt64 = 0
    ) {
        self.totalMetricsCollected = totalMetricsCollected
        self.totalLogsProcessed = totalLogsProcessed
        self.totalTracesGenerated = totalTracesGenerated
        self.totalAlertsFired = totalAlertsFired
        self.averageCollectionTime = averageCollectionTime
        self.averageExportTime = averageExportTime
        self.cacheHitRate = cacheHitRate
        self.storageUsage = storageUsage
    }
}
