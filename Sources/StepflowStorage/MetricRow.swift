import StepflowCore

/// One row of `monitoring_metrics`, ready to insert: what the metrics write queue holds.
///
/// The label set and metadata are already JSON text (the engine encodes a series' labels once, when the series is
/// created), so writing a row costs no encoding beyond its value.
public struct MetricRow: Sendable {
    public var name: String
    public var type: MetricType
    public var value: MetricValue
    /// The label set as a JSON object with sorted keys, or `nil` when the series has none.
    public var labels: String?
    /// Unix milliseconds.
    public var timestamp: Int64
    /// The sample's metadata as a JSON object, or `nil` when it has none.
    public var metadata: String?

    public init(
        name: String, type: MetricType, value: MetricValue, labels: String?, timestamp: Int64, metadata: String?
    ) {
        self.name = name
        self.type = type
        self.value = value
        self.labels = labels
        self.timestamp = timestamp
        self.metadata = metadata
    }

    /// The row of a sample.
    public init(_ metric: Metric) {
        var extra = metric.metadata
        extra["help"] = nil
        self.init(
            name: metric.name, type: metric.value.type, value: metric.value,
            labels: MetricValueCoding.encodeLabels(metric.seriesKey.labels), timestamp: metric.timestamp.unixMilliseconds,
            metadata: MetricValueCoding.encodeMetadata(extra))
    }

    /// A label set as stored: a JSON object with keys in the order given (sort them first), or `nil` when empty.
    public static func labelsJSON(_ sortedLabels: [Label]) -> String? {
        MetricValueCoding.encodeLabels(sortedLabels)
    }
}
