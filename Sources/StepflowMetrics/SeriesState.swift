import Foundation
import StepflowCore

/// What never changes about one series: its name, labels and type, and its labels as stored (JSON). Shared by
/// the engine's table and every row queued for it, so a sample of a known series copies no text.
final class SeriesIdentity: Sendable {
    let name: String
    /// Sorted by name: the series' identity, and the order `/metrics` and the database show.
    let labels: [Label]
    /// In the order the first sample gave them; later samples usually repeat it, which makes matching them cheap.
    let labelsAsGiven: [Label]
    let type: MetricType
    let fingerprint: UInt64
    /// `labels` as the JSON object stored in `monitoring_metrics.labels`, or `nil` without labels.
    let labelsJSON: String?
    /// Index of the series' family in ``SeriesTable/families``.
    let family: Int

    init(name: String, labels: [Label], type: MetricType, fingerprint: UInt64, family: Int, labelsJSON: String?) {
        self.name = name
        self.labelsAsGiven = labels
        self.labels = labels.sorted()
        self.type = type
        self.fingerprint = fingerprint
        self.family = family
        self.labelsJSON = labelsJSON
    }

    /// Whether `name` and `labels` (in any order) name this series.
    func matches(name other: String, labels given: [Label]) -> Bool {
        guard given.count == labels.count, other == name else { return false }
        if given == labelsAsGiven { return true }
        return given.allSatisfy(hasLabel)
    }

    /// Whether the sample at `position` of `batch` belongs to this series.
    func matches(_ batch: MetricBatch, at position: Int) -> Bool {
        let sample = batch.samples[position]
        guard Int(sample.labelCount) == labels.count, batch.strings[Int(sample.name)] == name else { return false }
        let start = Int(sample.labelStart)
        var inOrder = true
        for offset in 0..<Int(sample.labelCount) {
            let reference = batch.labels[start + offset]
            let given = labelsAsGiven[offset]
            if batch.strings[Int(reference.name)] != given.name || batch.strings[Int(reference.value)] != given.value {
                inOrder = false
                break
            }
        }
        if inOrder { return true }
        for offset in 0..<Int(sample.labelCount) {
            let reference = batch.labels[start + offset]
            if !hasLabel(Label(batch.strings[Int(reference.name)], batch.strings[Int(reference.value)])) { return false }
        }
        return true
    }

    private func hasLabel(_ label: Label) -> Bool {
        var low = 0
        var high = labels.count
        while low < high {
            let middle = (low + high) / 2
            if labels[middle].name < label.name { low = middle + 1 } else { high = middle }
        }
        return low < labels.count && labels[low] == label
    }
}

/// The in-memory state of one series: its current value, plus what histograms and summaries need to compute
/// the next snapshot from single observations.
struct SeriesState: Sendable {
    let identity: SeriesIdentity
    var value: MetricValue
    /// Unix milliseconds of the latest sample.
    var lastUpdated: Int64
    /// The index of the source that owns the series in the engine's source table; -1 for a series restored at
    /// start, which the first source to report it claims.
    var owner: Int32 = -1
    /// Unix milliseconds, on the engine's clock, when its owner last reported it (for expiry).
    var lastSeen: Int64 = 0
    /// Histograms fed by observations: the bucket bounds and per-bucket (non-cumulative) counts.
    var bounds: [Double] = []
    var bucketCounts: [UInt64] = []
    /// Summaries fed by observations: the sliding window of recent observations.
    var window: SlidingWindow?
}

/// The observations of a summary over the last `maxAge`, at most `capacity` of them, from which quantiles are
/// computed exactly, over a sliding time window as Prometheus client summaries do.
///
/// Kept twice: in arrival order (to expire the oldest) and sorted (so a quantile is one index away). An
/// observation costs a binary search and a move of at most `capacity` values; nothing is sorted per read.
/// NaN observations count in the summary's count and sum but not in its quantiles.
struct SlidingWindow: Sendable {
    let maxAge: Int64
    let capacity: Int
    private var arrivals: [(time: Int64, value: Double)] = []
    private var head = 0
    private var sorted: [Double] = []

    /// - Parameters:
    ///   - maxAge: milliseconds an observation stays in the window.
    ///   - capacity: the most observations kept (the oldest go first).
    init(maxAge: Int64, capacity: Int) {
        self.maxAge = maxAge
        self.capacity = max(capacity, 1)
    }

    var count: Int { arrivals.count - head }

    mutating func observe(_ value: Double, at time: Int64) {
        expire(before: time - maxAge)
        guard !value.isNaN else { return }
        if count == capacity { removeOldest() }
        arrivals.append((time, value))
        sorted.insert(value, at: insertionIndex(of: value))
    }

    /// Drops observations older than `cutoff` (Unix milliseconds).
    mutating func expire(before cutoff: Int64) {
        while head < arrivals.count, arrivals[head].time < cutoff { removeOldest() }
    }

    /// The φ-quantiles of the window (nearest rank); NaN when the window is empty, as Prometheus reports.
    func quantiles(_ phis: [Double]) -> [Quantile] {
        phis.map { phi in
            guard !sorted.isEmpty else { return Quantile(quantile: phi, value: .nan) }
            let rank = Int((phi * Double(sorted.count)).rounded(.up)) - 1  // range: φ in 0…1, checked at load
            return Quantile(quantile: phi, value: sorted[min(max(rank, 0), sorted.count - 1)])
        }
    }

    private mutating func removeOldest() {
        let oldest = arrivals[head].value
        head += 1
        var index = insertionIndex(of: oldest)
        // `insertionIndex` finds the first value not below `oldest`; equal values are interchangeable.
        if index == sorted.count || sorted[index] != oldest { index = sorted.firstIndex(of: oldest) ?? index }
        if index < sorted.count { sorted.remove(at: index) }
        if head > 64, head * 2 > arrivals.count {
            arrivals.removeFirst(head)
            head = 0
        }
    }

    /// The first index whose value is not below `value`.
    private func insertionIndex(of value: Double) -> Int {
        BucketCounts.bucket(of: value, in: sorted)
    }
}
