/// Prometheus' rules for metric and label names, applied to everything recorded.
public enum MetricNameRules {
    /// A metric name as a refusal message shows it: at most 128 characters, so that a batch of many samples of
    /// one huge name cannot make as many huge messages.
    package static func shown(_ name: String) -> String {
        name.utf8.count > 128 ? name.prefix(128) + "…" : name
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    public static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        guard isLetter(first) || first == UInt8(ascii: "_") || first == UInt8(ascii: ":") else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ":") }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved by Prometheus).
    public static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        guard isLetter(first) || first == UInt8(ascii: "_") else { return false }
        if name.hasPrefix("__") { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// Why a sample cannot be recorded, or `nil` when it can.
    public static func problem(with metric: Metric) -> String? {
        if !isValidMetricName(metric.name) {
            return "metric name '\(metric.name)' does not match [a-zA-Z_:][a-zA-Z0-9_:]*"
        }
        var seen = Set<String>()
        for label in metric.labels {
            if !isValidLabelName(label.name) {
                return "label name '\(label.name)' of \(metric.name) does not match [a-zA-Z_][a-zA-Z0-9_]* (or starts with __)"
            }
            if !seen.insert(label.name).inserted {
                return "label '\(label.name)' appears twice on \(metric.name)"
            }
        }
        switch metric.value {
        case .counter(let value):
            if !(value >= 0) || value.isInfinite {
                return "counter \(metric.name) must be a finite number ≥ 0, got \(value)"
            }
        case .gauge:
            break
        case .histogram(let histogram):
            if seen.contains("le") { return "histogram \(metric.name) must not carry the reserved label 'le'" }
            var previous = -Double.infinity
            var previousCount: UInt64 = 0
            for bucket in histogram.buckets {
                if bucket.upperBound.isNaN || bucket.upperBound <= previous {
                    return "histogram \(metric.name) bucket bounds must be ascending numbers"
                }
                if bucket.count < previousCount || bucket.count > histogram.count {
                    return "histogram \(metric.name) bucket counts must be cumulative and at most count"
                }
                previous = bucket.upperBound
                previousCount = bucket.count
            }
        case .summary(let summary):
            if seen.contains("quantile") {
                return "summary \(metric.name) must not carry the reserved label 'quantile'"
            }
            for quantile in summary.quantiles where !(0...1).contains(quantile.quantile) {
                return "summary \(metric.name) quantile \(quantile.quantile) lies outside 0…1"
            }
        }
        return nil
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
