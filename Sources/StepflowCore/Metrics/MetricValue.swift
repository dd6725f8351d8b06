/// The kind of a metric, as stored in `monitoring_metrics.value_type`.
public enum MetricType: String, Sendable, Hashable, Codable, CaseIterable {
    case counter
    case gauge
    case histogram
    case summary
}

/// One bucket of a histogram: how many observations were at most `upperBound` (cumulative).
public struct HistogramBucket: Sendable, Hashable, Codable {
    public var upperBound: Double
    public var count: UInt64

    public init(upperBound: Double, count: UInt64) {
        self.upperBound = upperBound
        self.count = count
    }
}

/// A histogram snapshot: cumulative buckets in ascending order, plus the sum and count of all observations.
/// The `+Inf` bucket is implied by `count` and is not stored in `buckets`.
public struct HistogramValue: Sendable, Hashable, Codable {
    public var sum: Double
    public var count: UInt64
    public var buckets: [HistogramBucket]

    public init(sum: Double, count: UInt64, buckets: [HistogramBucket]) {
        self.sum = sum
        self.count = count
        self.buckets = buckets
    }
}

/// One quantile of a summary, e.g. `quantile: 0.99, value: 0.42`.
public struct Quantile: Sendable, Hashable, Codable {
    public var quantile: Double
    public var value: Double

    public init(quantile: Double, value: Double) {
        self.quantile = quantile
        self.value = value
    }
}

/// A summary snapshot: pre-computed quantiles plus the sum and count of all observations.
public struct SummaryValue: Sendable, Hashable, Codable {
    public var sum: Double
    public var count: UInt64
    public var quantiles: [Quantile]

    public init(sum: Double, count: UInt64, quantiles: [Quantile]) {
        self.sum = sum
        self.count = count
        self.quantiles = quantiles
    }
}

/// The value of a metric sample: the spec's `MetricValue`.
public enum MetricValue: Sendable, Hashable {
    /// A cumulative, monotonic count, never negative.
    ///
    /// The spec has `Counter(u64)`; a `Double` is used instead, as Prometheus and swift-metrics'
    /// `FloatingPointCounter` do, so that counters such as `process_cpu_seconds_total` keep their fractions.
    case counter(Double)
    /// A value that can go up and down.
    case gauge(Double)
    /// Observations sorted into buckets.
    case histogram(HistogramValue)
    /// Observations summarised by quantiles.
    case summary(SummaryValue)

    /// The type of this value.
    public var type: MetricType {
        switch self {
        case .counter: return .counter
        case .gauge: return .gauge
        case .histogram: return .histogram
        case .summary: return .summary
        }
    }
}
