import Foundation
import StepflowCore
import StepflowMetrics
import StepflowServer

/// The runtime's ``MonitoringMonitoring``: the host's pipelines record their collections, written log and span
/// batches, rule evaluations and exports here, and so may an application that embeds the host. What is recorded
/// appears as `stepflow_operations_total`, `stepflow_operation_items_total` and
/// `stepflow_operation_duration_seconds` (docs/profiler.md, "Self-monitoring").
public final class RuntimeMonitoring: MonitoringMonitoring {
    /// The totals behind the `stepflow_operation*` series.
    public let operations: OperationLedger
    private let telemetry: SelfTelemetry
    private let engine: MetricsEngine

    init(operations: OperationLedger, telemetry: SelfTelemetry, engine: MetricsEngine) {
        self.operations = operations
        self.telemetry = telemetry
        self.engine = engine
    }

    public func recordMetricCollection(count: Int, duration: Duration) async throws(MonitoringError) {
        try operations.record(.metricCollection, count: count, duration: duration)
    }

    public func recordLogProcessing(count: Int, duration: Duration) async throws(MonitoringError) {
        try operations.record(.logProcessing, count: count, duration: duration)
    }

    public func recordTraceGeneration(count: Int, duration: Duration) async throws(MonitoringError) {
        try operations.record(.traceGeneration, count: count, duration: duration)
    }

    public func recordAlertEvaluation(count: Int, duration: Duration) async throws(MonitoringError) {
        try operations.record(.alertEvaluation, count: count, duration: duration)
    }

    public func recordExportOperation(exporter: String, count: Int, duration: Duration) async throws(MonitoringError) {
        try operations.record(.export, exporter: exporter, count: count, duration: duration)
    }

    /// The host's own series as of now: its process (`process_*`) and everything `/metrics` shows under
    /// `stepflow_*`, those `filter` matches (all when `nil`).
    public func getMetrics(filter: MetricFilter?) async throws(MonitoringError) -> [Metric] {
        let own = PrometheusTextEncoder.merge(
            engine.snapshot(filter: MetricFilter(namePrefix: "process_")), telemetry.metrics())
        guard let filter else { return own.map(Metric.init(info:)) }
        return own.filter {
            filter.matches(name: $0.name, type: $0.type, labels: $0.labels) && filter.matches(lastUpdated: $0.lastUpdated)
        }.map(Metric.init(info:))
    }

    /// The spec's `MonitoringMetrics`: the host's totals since it started.
    public func metrics() -> MonitoringMetrics {
        let lookups = engine.cacheLookups
        let collections = operations.totals(of: .metricCollection)
        let exports = operations.totals(of: .export)
        return MonitoringMetrics(
            totalMetricsCollected: engine.counts.accepted,
            totalLogsProcessed: telemetry.logs.acceptedByLevel.values.reduce(0, &+),
            totalTracesGenerated: telemetry.traces.counts.recorded,
            totalAlertsFired: telemetry.alerts.telemetry.firedTotal,
            averageCollectionTime: collections.averageDuration,
            averageExportTime: exports.averageDuration,
            cacheHitRate: lookups.lookups == 0 ? 1 : Double(lookups.hits) / Double(lookups.lookups),
            storageUsage: telemetry.database.fileSize())
    }
}
