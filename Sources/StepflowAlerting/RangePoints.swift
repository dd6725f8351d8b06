import StepflowCore

/// The points of one series inside a range, oldest first, and the range functions over them.
///
/// A point is a raw sample, or an interval aggregate standing for the samples rolled into it: `count`, `sum`,
/// `min` and `max` then describe those samples (for `count_over_time`, `sum_over_time`, `avg_over_time`,
/// `min_over_time`, `max_over_time`), and `value` is the interval's last value (for everything else).
struct RangePoints {
    struct Point {
        /// Unix milliseconds.
        var timestamp: Int64
        var value: Double
        var count: Int = 1
        var sum: Double
        var min: Double
        var max: Double

        init(timestamp: Int64, value: Double) {
            self.timestamp = timestamp
            self.value = value
            self.sum = value
            self.min = value
            self.max = value
        }
    }

    var points: [Point]
    /// The range, Unix milliseconds, inclusive.
    var start: Int64
    var end: Int64

    /// The function's value, or `nil` when the range holds too few points (none; one for `rate` and `increase`),
    /// as Prometheus then returns no series.
    func apply(_ function: RangeFunction) -> Double? {
        guard !points.isEmpty else { return nil }
        switch function {
        case .rate:
            return extrapolatedIncrease().map { $0 / (Double(end - start) / 1000) }
        case .increase:
            return extrapolatedIncrease()
        case .countOverTime:
            return Double(points.reduce(0) { $0 + $1.count })
        case .sumOverTime:
            return points.reduce(0) { $0 + $1.sum }
        case .avgOverTime:
            let count = points.reduce(0) { $0 + $1.count }
            return points.reduce(0) { $0 + $1.sum } / Double(count)
        case .minOverTime:
            return points.reduce(Double.infinity) { Swift.min($0, $1.min.isNaN ? $0 : $1.min) }
        case .maxOverTime:
            return points.reduce(-Double.infinity) { Swift.max($0, $1.max.isNaN ? $0 : $1.max) }
        case .quantileOverTime(let q):
            return Self.quantile(q, of: points.map(\.value))
        }
    }

    /// Prometheus' `extrapolatedRate` for counters: the increase between the first and last point, counter resets
    /// added back, extrapolated toward the range's edges (by at most half an average sample interval beyond the
    /// points, and never below zero at the start).
    func extrapolatedIncrease() -> Double? {
        guard points.count >= 2, let first = points.first, let last = points.last, last.timestamp > first.timestamp
        else { return nil }
        var increase = last.value - first.value
        var previous = first.value
        for point in points.dropFirst() {
            if point.value < previous { increase += previous }  // a reset: the counter restarted from 0
            previous = point.value
        }
        let sampled = Double(last.timestamp - first.timestamp) / 1000
        var toStart = Double(first.timestamp - start) / 1000
        let toEnd = Double(end - last.timestamp) / 1000
        let averageInterval = sampled / Double(points.count - 1)
        let threshold = averageInterval * 1.1
        if increase > 0, first.value >= 0 {
            // The counter cannot have been below zero: do not extrapolate past where it would have been 0.
            let toZero = sampled * (first.value / increase)
            if toZero < toStart { toStart = toZero }
        }
        var interval = sampled
        interval += toStart < threshold ? toStart : averageInterval / 2
        interval += toEnd < threshold ? toEnd : averageInterval / 2
        return increase * (interval / sampled)
    }

    /// The φ-quantile of `values` with linear interpolation between closest ranks, as PromQL's `quantile_over_time`
    /// (-Inf for φ below 0, +Inf above 1).
    static func quantile(_ q: Double, of values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        if q.isNaN { return .nan }
        if q < 0 { return -.infinity }
        if q > 1 { return .infinity }
        let sorted = values.sorted()
        let rank = q * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down))  // range: 0 ≤ q ≤ 1, so 0 ≤ rank ≤ count - 1
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let weight = rank - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * weight
    }
}
