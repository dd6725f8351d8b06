/// One sample as Prometheus exposes it: a counter or gauge as itself, a histogram as its `_bucket{le}`, `_sum` and
/// `_count` series, a summary as its `{quantile}`, `_sum` and `_count` series. What alert queries select from.
public struct ExposedSample: Sendable, Hashable {
    public var name: String
    /// Sorted by name; `le` or `quantile` added for buckets and quantiles.
    public var labels: [Label]
    public var value: Double

    public init(name: String, labels: [Label], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }

    /// The names a family's exposed series may have: `name`, and for histograms and summaries the suffixed ones.
    public static func familyName(of exposedName: String) -> [String] {
        var names = [exposedName]
        for suffix in ["_bucket", "_sum", "_count"] where exposedName.hasSuffix(suffix) {
            names.append(String(exposedName.dropLast(suffix.count)))
        }
        return names
    }
}

extension MetricValue {
    /// The value's series as Prometheus exposes them, for a series named `name` with `labels`.
    public func exposed(name: String, labels: [Label]) -> [ExposedSample] {
        switch self {
        case .counter(let value), .gauge(let value):
            return [ExposedSample(name: name, labels: labels, value: value)]
        case .histogram(let histogram):
            var samples = histogram.buckets.filter { $0.upperBound != .infinity }.map { bucket in
                ExposedSample(
                    name: name + "_bucket", labels: (labels + [Label("le", Self.format(bucket.upperBound))]).sorted(),
                    value: Double(bucket.count))
            }
            samples.append(ExposedSample(
                name: name + "_bucket", labels: (labels + [Label("le", "+Inf")]).sorted(), value: Double(histogram.count)))
            samples.append(ExposedSample(name: name + "_sum", labels: labels, value: histogram.sum))
            samples.append(ExposedSample(name: name + "_count", labels: labels, value: Double(histogram.count)))
            return samples
        case .summary(let summary):
            var samples = summary.quantiles.map { quantile in
                ExposedSample(
                    name: name, labels: (labels + [Label("quantile", Self.format(quantile.quantile))]).sorted(),
                    value: quantile.value)
            }
            samples.append(ExposedSample(name: name + "_sum", labels: labels, value: summary.sum))
            samples.append(ExposedSample(name: name + "_count", labels: labels, value: Double(summary.count)))
            return samples
        }
    }

    /// A bound or quantile as the text format writes it.
    static func format(_ value: Double) -> String { value.prometheusText }
}
