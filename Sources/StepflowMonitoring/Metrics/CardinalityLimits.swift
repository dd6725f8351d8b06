import StepflowCore

/// Limits on what one sample may carry and on how many series one metric name may have (`metrics.max_*`).
/// A sample past a limit is refused with an error naming the metric and the limit, and counted by reason.
public struct CardinalityLimits: Sendable, Hashable {
    /// `metrics.max_labels_per_series`.
    public var maxLabelsPerSeries: Int
    /// `metrics.max_label_value_length`, in UTF-8 bytes.
    public var maxLabelValueLength: Int
    /// `metrics.max_series_per_metric`.
    public var maxSeriesPerMetric: Int

    public init(maxLabelsPerSeries: Int, maxLabelValueLength: Int, maxSeriesPerMetric: Int) {
        self.maxLabelsPerSeries = maxLabelsPerSeries
        self.maxLabelValueLength = maxLabelValueLength
        self.maxSeriesPerMetric = maxSeriesPerMetric
    }

    /// The limits of a metrics configuration.
    public init(_ config: MetricsConfig) {
        self.init(
            maxLabelsPerSeries: config.maxLabelsPerSeries, maxLabelValueLength: config.maxLabelValueLength,
            maxSeriesPerMetric: config.maxSeriesPerMetric)
    }

    /// The defaults of `config.yaml`.
    public static let `default` = CardinalityLimits(MetricsConfig.default)
}

/// Why the engine refused a sample, as counted in `stepflow_metrics_refused_total{reason}`.
public enum SampleRefusal: String, Sendable, Hashable, CaseIterable {
    /// Names, labels or values that break Prometheus' rules.
    case invalid
    /// A sample whose type differs from the type its name already has.
    case typeClash = "type_clash"
    /// More labels than `max_labels_per_series`.
    case tooManyLabels = "too_many_labels"
    /// A label value longer than `max_label_value_length`.
    case labelValueTooLong = "label_value_too_long"
    /// A new series past `max_series_per_metric`.
    case seriesLimit = "series_limit"
}
