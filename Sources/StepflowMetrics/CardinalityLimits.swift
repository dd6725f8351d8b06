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
    /// `metrics.max_series`: series in the whole table.
    public var maxSeries: Int = MetricsConfig.default.maxSeries
    /// `limits.max_name_length`, in UTF-8 bytes: metric and label names.
    public var maxNameLength: Int
    /// `limits.max_text_length`, in UTF-8 bytes: HELP texts.
    public var maxHelpLength: Int

    public init(
        maxLabelsPerSeries: Int, maxLabelValueLength: Int, maxSeriesPerMetric: Int,
        maxNameLength: Int = LimitsConfig.default.maxNameLength, maxHelpLength: Int = LimitsConfig.default.maxTextLength
    ) {
        self.maxLabelsPerSeries = maxLabelsPerSeries
        self.maxLabelValueLength = maxLabelValueLength
        self.maxSeriesPerMetric = maxSeriesPerMetric
        self.maxNameLength = maxNameLength
        self.maxHelpLength = maxHelpLength
    }

    /// The limits of a metrics configuration and the host's `limits:`.
    public init(_ config: MetricsConfig, limits: LimitsConfig = .default) {
        self.init(
            maxLabelsPerSeries: config.maxLabelsPerSeries, maxLabelValueLength: config.maxLabelValueLength,
            maxSeriesPerMetric: config.maxSeriesPerMetric, maxNameLength: limits.maxNameLength,
            maxHelpLength: limits.maxTextLength)
        maxSeries = config.maxSeries
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
    /// A timestamp outside ``ValidTime`` (the years 1970 to 9999).
    case timestampOutOfRange = "timestamp_out_of_range"
    /// A name or HELP text longer than `limits.max_name_length` or `limits.max_help_length`.
    case textTooLong = "text_too_long"
    /// A sample of a series that another source created (docs/plugins.md, "Series ownership and expiry").
    case ownedByOtherSource = "owned_by_other_source"
    /// A new series past its source's own limit (a plugin's `budgets.series`).
    case sourceSeriesLimit = "source_series_limit"
    /// A sample from a plugin that was removed or disabled while its last collection ran.
    case sourceRemoved = "source_removed"
}
