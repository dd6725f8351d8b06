/// The spec's `MonitoringMonitoring`: how the host's pipelines, and an application that embeds the host, report
/// the work they did, so that the host can say how fast it collects, processes, evaluates and exports.
///
/// `MonitoringRuntime.monitoring` implements it: what is reported becomes the `stepflow_operations_total`,
/// `stepflow_operation_items_total` and `stepflow_operation_duration_seconds` series (docs/profiler.md,
/// "Self-monitoring"), stored with the host's other series on `metrics.collection_interval`.
public protocol MonitoringMonitoring: Sendable {
    /// One collection that produced `count` samples in `duration`.
    func recordMetricCollection(count: Int, duration: Duration) async throws(MonitoringError)
    /// `count` log entries processed (written, exported) in `duration`.
    func recordLogProcessing(count: Int, duration: Duration) async throws(MonitoringError)
    /// `count` spans generated (written) in `duration`.
    func recordTraceGeneration(count: Int, duration: Duration) async throws(MonitoringError)
    /// One evaluation of `count` alert rules in `duration`.
    func recordAlertEvaluation(count: Int, duration: Duration) async throws(MonitoringError)
    /// One export by `exporter` of `count` items in `duration`.
    func recordExportOperation(exporter: String, count: Int, duration: Duration) async throws(MonitoringError)
    /// The host's own series (`stepflow_*`, `process_*`) that match `filter`, as of now.
    func getMetrics(filter: MetricFilter?) async throws(MonitoringError) -> [Metric]
}
