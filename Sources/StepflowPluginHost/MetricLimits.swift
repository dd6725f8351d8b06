/// The limits the host puts on one sample a plugin emits. A sample past any of them is refused and counted
/// (``MetricRefusalReason``); the other samples of the same emission are kept. All limits are in one place so
/// that the plugin author's guide and the tests can name them.
public enum MetricLimits {
    /// The longest metric name, in UTF-8 bytes (``MetricRefusalReason/nameTooLong``).
    public static let maxMetricNameBytes = 256
    /// The longest label name, in UTF-8 bytes (``MetricRefusalReason/nameTooLong``).
    public static let maxLabelNameBytes = 256
    /// The longest label value, in UTF-8 bytes (``MetricRefusalReason/labelValueTooLong``).
    public static let maxLabelValueBytes = 4096
    /// The longest HELP text, in UTF-8 bytes (``MetricRefusalReason/helpTooLong``).
    public static let maxHelpBytes = 1024
    /// The most labels one sample may carry (``MetricRefusalReason/tooManyLabels``). Checked before any label
    /// is read, so a sample with 100,000 labels costs no more than one with 65.
    public static let maxLabelsPerSample = 64
    /// The most series one instance may register with `register_series`
    /// (``MetricRefusalReason/tooManyRegisteredSeries``); `budgets.series` still applies to what is stored.
    public static let maxRegisteredSeries = 100_000
}
