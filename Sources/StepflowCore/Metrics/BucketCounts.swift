/// Observations counted against fixed upper bounds: how the host's own histograms (operations, span metrics,
/// measured blocks) accumulate before they are shown as a ``HistogramValue``.
public struct BucketCounts: Sendable, Hashable {
    /// Non-cumulative counts: one per bound, then one for `+Inf`.
    public private(set) var counts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0

    /// Empty counts for `boundCount` bounds.
    public init(boundCount: Int) {
        counts = Array(repeating: 0, count: max(0, boundCount) + 1)
    }

    /// Counts `value` in `bucket` (from ``bucket(of:in:)``); a non-finite or negative value counts as 0 in the sum.
    public mutating func observe(_ value: Double, bucket: Int) {
        counts[min(max(bucket, 0), counts.count - 1)] &+= 1
        sum += value.isFinite ? max(0, value) : 0
        count &+= 1
    }

    /// Adds `other`'s observations (the same bounds).
    public mutating func merge(_ other: BucketCounts) {
        for index in counts.indices where index < other.counts.count { counts[index] &+= other.counts[index] }
        sum += other.sum
        count &+= other.count
    }

    /// The first index of `bounds` (ascending) whose bound is not below `value`: the bucket that holds it, or
    /// `bounds.count` for `+Inf`. A binary search.
    public static func bucket(of value: Double, in bounds: [Double]) -> Int {
        var low = 0
        var high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if bounds[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The counts as a Prometheus histogram over `bounds` (cumulative buckets; `+Inf` is the count).
    public func histogram(bounds: [Double]) -> HistogramValue {
        var cumulative: UInt64 = 0
        var buckets: [HistogramBucket] = []
        buckets.reserveCapacity(bounds.count)
        for (index, bound) in bounds.enumerated() where index < counts.count {
            cumulative &+= counts[index]
            buckets.append(HistogramBucket(upperBound: bound, count: cumulative))
        }
        return HistogramValue(sum: sum, count: count, buckets: buckets)
    }
}
