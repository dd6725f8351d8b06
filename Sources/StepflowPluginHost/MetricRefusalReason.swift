/// Why the host refused one sample a plugin emitted. The other samples of the same emission are kept.
public enum MetricRefusalReason: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A name, help text, label name or label value is not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// The metric name is empty.
    case emptyName = "empty_name"
    /// The metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    case invalidMetricName = "invalid_metric_name"
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    case invalidLabelName = "invalid_label_name"
    /// Two labels of one sample have the same name.
    case duplicateLabelName = "duplicate_label_name"
    /// A counter value that is negative, infinite or NaN.
    case invalidCounterValue = "invalid_counter_value"
    /// Histogram buckets that are not strictly ascending, whose counts are not cumulative, or whose bound is NaN
    /// or -Inf.
    case invalidHistogram = "invalid_histogram"
    /// A summary quantile outside [0, 1] or NaN.
    case invalidSummary = "invalid_summary"
    /// `type` is not a `stepflow_metric_type`.
    case unknownType = "unknown_type"
    /// A NULL pointer with a non-zero length or count.
    case nullPointer = "null_pointer"
    /// A negative `timestamp_ms`.
    case invalidTimestamp = "invalid_timestamp"
    /// The sample came after the per-collection budget was used up.
    case overBudget = "over_budget"
    /// A metric name or label name longer than ``MetricLimits/maxMetricNameBytes`` or
    /// ``MetricLimits/maxLabelNameBytes``.
    case nameTooLong = "name_too_long"
    /// A label value longer than ``MetricLimits/maxLabelValueBytes``.
    case labelValueTooLong = "label_value_too_long"
    /// A HELP text longer than ``MetricLimits/maxHelpBytes``.
    case helpTooLong = "help_too_long"
    /// More labels than ``MetricLimits/maxLabelsPerSample`` on one sample.
    case tooManyLabels = "too_many_labels"
    /// A histogram or summary `sum` that is NaN or ±Inf. (Gauges may be NaN or ±Inf; counters are
    /// ``invalidCounterValue``.)
    case nonFiniteValue = "non_finite_value"
    /// `emit_values` named a series this instance never registered.
    case unknownSeries = "unknown_series"
    /// `register_series` was given a histogram or summary (only counters and gauges are registered).
    case unregistrableType = "unregistrable_type"
    /// `register_series` past ``MetricLimits/maxRegisteredSeries``.
    case tooManyRegisteredSeries = "too_many_registered_series"

    public var description: String { rawValue }
}
