/// Records and reads metrics: the spec's `MetricsCollector` trait.
public protocol MetricsCollector: Sendable {
    /// Adds `value` to the counter series `name{labels}`.
    func incrementCounter(_ name: String, by value: UInt64, labels: [Label]) async throws(MonitoringError)
    /// Adds a fractional `value` (≥ 0) to the counter series `name{labels}`, e.g. seconds of CPU time.
    @_disfavoredOverload
    func incrementCounter(_ name: String, by value: Double, labels: [Label]) async throws(MonitoringError)
    /// Sets the gauge series `name{labels}` to `value`.
    func recordGauge(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError)
    /// Observes `value` in the histogram series `name{labels}`.
    func recordHistogram(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError)
    /// Observes `value` in the summary series `name{labels}`.
    func recordSummary(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError)
    /// Records complete samples, e.g. snapshots reported by a collector plugin.
    func recordMetrics(_ metrics: [Metric]) async throws(MonitoringError)
    /// The current value of one series, or `nil` when the series is unknown.
    func getMetric(_ name: String, labels: [Label]) async throws(MonitoringError) -> MetricValue?
    /// Every known series passing the filter, sorted by name then labels.
    func listMetrics(filter: MetricFilter?) async throws(MonitoringError) -> [MetricInfo]
}
