import Foundation
import StepflowCore

/// The in-memory state of one series: its current value, plus what histograms and summaries need to
/// compute the next snapshot from single observations.
struct SeriesState: Sendable {
    var type: MetricType
    var labels: [Label]
    var value: MetricValue
    var lastUpdated: Date
    /// Histograms fed by observations: per-bucket (non-cumulative) counts for `bounds`.
    var bucketCounts: [UInt64] = []
    /// Summaries fed by observations: the sliding window of recent observations.
    var window: SlidingWindow?
}

/// The observations of a summary over the last `maxAge`, at most `capacity` of them, from which quantiles
/// are computed as Prometheus client summaries do (over a sliding time window).
struct SlidingWindow: Sendable {
    var maxAge: TimeInterval
    var capacity: Int
    private var samples: [(time: Date, value: Double)] = []

    init(maxAge: TimeInterval, capacity: Int) {
        self.maxAge = maxAge
        self.capacity = capacity
    }

    mutating func observe(_ value: Double, at time: Date) {
        samples.append((time, value))
        let cutoff = time.addingTimeInterval(-maxAge)
        if let firstKept = samples.firstIndex(where: { $0.time >= cutoff }), firstKept > 0 {
            samples.removeFirst(firstKept)
        }
        if samples.count > capacity { samples.removeFirst(samples.count - capacity) }
    }

    /// The φ-quantiles of the window (nearest rank); NaN when the window is empty, as Prometheus reports.
    func quantiles(_ phis: [Double]) -> [Quantile] {
        let sorted = samples.map(\.value).filter { !$0.isNaN }.sorted()
        return phis.map { phi in
            guard !sorted.isEmpty else { return Quantile(quantile: phi, value: .nan) }
            let rank = Int((phi * Double(sorted.count)).rounded(.up)) - 1
            return Quantile(quantile: phi, value: sorted[min(max(rank, 0), sorted.count - 1)])
        }
    }
}
