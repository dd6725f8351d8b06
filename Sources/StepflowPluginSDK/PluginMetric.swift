/// A label of a plugin metric: one name/value pair. Names follow Prometheus rules, `[a-zA-Z_][a-zA-Z0-9_]*`.
public struct PluginLabel: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A histogram bucket: how many observations were at most `upperBound` (cumulative).
public struct PluginBucket: Sendable, Hashable {
    public var upperBound: Double
    public var count: UInt64

    public init(upperBound: Double, count: UInt64) {
        self.upperBound = upperBound
        self.count = count
    }
}

/// A summary quantile, e.g. `PluginQuantile(quantile: 0.99, value: 0.42)`.
public struct PluginQuantile: Sendable, Hashable {
    public var quantile: Double
    public var value: Double

    public init(quantile: Double, value: Double) {
        self.quantile = quantile
        self.value = value
    }
}

/// The value of a plugin metric.
public enum PluginMetricValue: Sendable, Hashable {
    /// A cumulative, monotonic count: finite and ≥ 0; fractions are allowed (e.g. seconds of CPU time).
    case counter(Double)
    /// A value that can go up and down.
    case gauge(Double)
    /// Cumulative buckets in strictly ascending order (the `+Inf` bucket is implied by `count`).
    case histogram(sum: Double, count: UInt64, buckets: [PluginBucket])
    /// Pre-computed quantiles in [0, 1].
    case summary(sum: Double, count: UInt64, quantiles: [PluginQuantile])
}

/// One sample a collector hands to the host.
///
/// The host validates every sample: names must follow Prometheus rules (`[a-zA-Z_:][a-zA-Z0-9_:]*`), label
/// names must be unique; a sample that breaks a rule is refused (and counted by the host), the others are kept.
public struct PluginMetric: Sendable, Hashable {
    /// The metric name, e.g. `node_load1`.
    public var name: String
    /// The Prometheus HELP text; empty for none.
    public var help: String
    /// The labels, in the order given.
    public var labels: [PluginLabel]
    /// The value.
    public var value: PluginMetricValue
    /// Unix milliseconds of the observation; 0 means "when the host receives it".
    public var timestampMilliseconds: Int64

    public init(
        name: String,
        help: String = "",
        labels: [PluginLabel] = [],
        value: PluginMetricValue,
        timestampMilliseconds: Int64 = 0
    ) {
        self.name = name
        self.help = help
        self.labels = labels
        self.value = value
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// A gauge sample.
    public static func gauge(
        _ name: String, _ value: Double, help: String = "", labels: [PluginLabel] = []
    ) -> PluginMetric {
        PluginMetric(name: name, help: help, labels: labels, value: .gauge(value))
    }

    /// A counter sample.
    public static func counter(
        _ name: String, _ value: Double, help: String = "", labels: [PluginLabel] = []
    ) -> PluginMetric {
        PluginMetric(name: name, help: help, labels: labels, value: .counter(value))
    }
}
