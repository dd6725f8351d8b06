import Foundation
import Logging
import StepflowCore
import Synchronization

/// The spec's `MetricsCollector`: validates each sample, keeps the current value of every series in memory
/// (what `/metrics`, `get_metric` and `list_metrics` read) and queues the sample for the batched writer.
///
/// Recording never touches SQLite; it takes one short lock. Invalid samples are refused one by one with a
/// reason, and a sample whose type differs from the type its name already has is refused too, so that
/// `/metrics` never shows one family with two types.
public final class MetricsEngine: MetricsCollector, Sendable {
    /// Prometheus' default histogram buckets.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// The quantiles a summary reports.
    public static let defaultQuantiles: [Double] = [0.5, 0.9, 0.99]

    private struct State {
        var series: [SeriesKey: SeriesState] = [:]
        var types: [String: MetricType] = [:]
        var help: [String: String] = [:]
        var seriesPerMetric: [String: Int] = [:]
        var accepted: UInt64 = 0
        var refused: UInt64 = 0
        var refusedByReason: [SampleRefusal: UInt64] = [:]

        mutating func refuse(_ reason: SampleRefusal) {
            refused += 1
            refusedByReason[reason, default: 0] += 1
        }
    }

    /// What ``record(_:)`` did with a batch.
    public struct RecordReport: Sendable {
        public var accepted: Int
        /// Each refused sample's name and the reason.
        public var refused: [(name: String, reason: String)]
        /// Accepted samples the full write queue had to drop.
        public var dropped: Int
    }

    private let state = Mutex(State())
    private let queue: MetricsWriteQueue
    private let logger: Logger
    private let summaryMaxAge: TimeInterval
    private let summaryCapacity: Int

    /// - Parameters:
    ///   - queue: where accepted samples wait for the writer.
    ///   - summaryWindow: the sliding window summaries compute quantiles over.
    private let limits: CardinalityLimits

    /// - Parameter limits: the cardinality limits (`metrics.max_*`).
    public init(
        queue: MetricsWriteQueue, logger: Logger, limits: CardinalityLimits = .default,
        summaryWindow: Duration = .seconds(600)
    ) {
        self.queue = queue
        self.limits = limits
        self.logger = logger
        self.summaryMaxAge = Double(summaryWindow.components.seconds)
        self.summaryCapacity = 1024
    }

    /// Samples accepted and refused since start.
    public var counts: (accepted: UInt64, refused: UInt64) { state.withLock { ($0.accepted, $0.refused) } }
    /// Samples refused since start, by reason.
    public var refusals: [SampleRefusal: UInt64] { state.withLock { $0.refusedByReason } }
    /// The number of series held in memory.
    public var seriesCount: Int { state.withLock { $0.series.count } }

    // MARK: MetricsCollector

    public func incrementCounter(_ name: String, by value: UInt64, labels: [Label]) async throws(MonitoringError) {
        try await incrementCounter(name, by: Double(value), labels: labels)
    }

    @_disfavoredOverload
    public func incrementCounter(_ name: String, by value: Double, labels: [Label]) async throws(MonitoringError) {
        guard value >= 0, value.isFinite else {
            throw .invalidMetricValue("counter \(name) cannot be incremented by \(value): increments must be finite and ≥ 0")
        }
        // A new series starts at 0; the closure adds the increment.
        try observe(Metric(name: name, value: .counter(0), labels: labels)) { series, _ in
            guard case .counter(let current) = series.value else { return }
            series.value = .counter(current + value)
        }
    }

    public func recordGauge(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError) {
        try observe(Metric(name: name, value: .gauge(value), labels: labels)) { series, _ in
            series.value = .gauge(value)
        }
    }

    public func recordHistogram(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError) {
        let bounds = Self.defaultBuckets
        let empty = HistogramValue(sum: 0, count: 0, buckets: bounds.map { HistogramBucket(upperBound: $0, count: 0) })
        try observe(Metric(name: name, value: .histogram(empty), labels: labels)) { series, _ in
            guard case .histogram(var histogram) = series.value else { return }
            if series.bucketCounts.count != bounds.count { series.bucketCounts = Array(repeating: 0, count: bounds.count) }
            if let index = bounds.firstIndex(where: { value <= $0 }) { series.bucketCounts[index] += 1 }
            histogram.count += 1
            histogram.sum += value
            var cumulative: UInt64 = 0
            histogram.buckets = zip(bounds, series.bucketCounts).map { bound, count in
                cumulative += count
                return HistogramBucket(upperBound: bound, count: cumulative)
            }
            series.value = .histogram(histogram)
        }
    }

    public func recordSummary(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError) {
        let empty = SummaryValue(sum: 0, count: 0, quantiles: [])
        let maxAge = summaryMaxAge
        let capacity = summaryCapacity
        try observe(Metric(name: name, value: .summary(empty), labels: labels)) { series, now in
            guard case .summary(var summary) = series.value else { return }
            var window = series.window ?? SlidingWindow(maxAge: maxAge, capacity: capacity)
            window.observe(value, at: now)
            summary.count += 1
            summary.sum += value
            summary.quantiles = window.quantiles(Self.defaultQuantiles)
            series.window = window
            series.value = .summary(summary)
        }
    }

    public func recordMetrics(_ metrics: [Metric]) async throws(MonitoringError) {
        let report = record(metrics)
        if !report.refused.isEmpty {
            let reasons = report.refused.prefix(3).map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
            throw .invalidMetricValue(
                "\(report.refused.count) of \(metrics.count) samples refused (\(reasons)); the other \(report.accepted) were recorded")
        }
    }

    public func getMetric(_ name: String, labels: [Label]) async throws(MonitoringError) -> MetricValue? {
        let key = SeriesKey(name: name, labels: labels)
        return state.withLock { $0.series[key]?.value }
    }

    public func listMetrics(filter: MetricFilter?) async throws(MonitoringError) -> [MetricInfo] {
        snapshot(filter: filter)
    }

    // MARK: Beyond the protocol

    /// Records complete samples (snapshots, e.g. from plugins): each valid one replaces its series' value;
    /// each invalid one is refused with a reason. Never throws.
    @discardableResult
    public func record(_ metrics: [Metric]) -> RecordReport {
        var refused: [(name: String, reason: String)] = []
        var accepted: [Metric] = []
        accepted.reserveCapacity(metrics.count)
        state.withLock { state in
            for metric in metrics {
                let key = metric.seriesKey
                if let (reason, message) = problem(with: metric, key: key, in: state) {
                    state.refuse(reason)
                    refused.append((metric.name, message))
                    continue
                }
                if state.series[key] == nil { state.seriesPerMetric[metric.name, default: 0] += 1 }
                state.types[metric.name] = metric.value.type
                if let help = metric.help { state.help[metric.name] = help }
                state.series[key] = SeriesState(
                    type: metric.value.type, labels: key.labels, value: metric.value, lastUpdated: metric.timestamp)
                accepted.append(metric)
            }
            state.accepted += UInt64(accepted.count)
        }
        let dropped = queue.enqueue(accepted)
        if dropped > 0 {
            logger.warning("metrics write queue is full; samples dropped", metadata: ["dropped": "\(dropped)"])
        }
        return RecordReport(accepted: accepted.count, refused: refused, dropped: dropped)
    }

    /// Every series passing `filter`, sorted by name then labels.
    public func snapshot(filter: MetricFilter? = nil) -> [MetricInfo] {
        let infos = state.withLock { state -> [(SeriesKey, MetricInfo)] in
            state.series.compactMap { key, series in
                if let filter, !filter.matches(name: key.name, type: series.type, labels: series.labels) { return nil }
                return (key, MetricInfo(
                    name: key.name, type: series.type, labels: series.labels, help: state.help[key.name],
                    value: series.value, lastUpdated: series.lastUpdated))
            }
        }
        return infos.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Applies one observation to its series (creating it from `metric` when new) and queues the result.
    private func observe(
        _ metric: Metric, _ apply: (inout SeriesState, Date) -> Void
    ) throws(MonitoringError) {
        let key = metric.seriesKey
        let result = state.withLock { state -> Result<Metric, MonitoringError> in
            if let (reason, message) = problem(with: metric, key: key, in: state) {
                state.refuse(reason)
                return .failure(.invalidMetricValue(message))
            }
            if state.series[key] == nil { state.seriesPerMetric[metric.name, default: 0] += 1 }
            var series = state.series[key]
                ?? SeriesState(type: metric.value.type, labels: key.labels, value: metric.value, lastUpdated: metric.timestamp)
            apply(&series, metric.timestamp)
            series.lastUpdated = metric.timestamp
            state.series[key] = series
            state.types[metric.name] = metric.value.type
            state.accepted += 1
            var sample = metric
            sample.value = series.value
            return .success(sample)
        }
        let sample = try result.get()
        if queue.enqueue([sample]) > 0 {
            logger.warning("metrics write queue is full; sample dropped", metadata: ["metric": "\(metric.name)"])
        }
    }

    private func problem(with metric: Metric, key: SeriesKey, in state: State) -> (SampleRefusal, String)? {
        if let problem = MetricNameRules.problem(with: metric) { return (.invalid, problem) }
        if let existing = state.types[metric.name], existing != metric.value.type {
            return (.typeClash, "\(metric.name) is a \(existing); a \(metric.value.type) sample cannot share its name")
        }
        if metric.labels.count > limits.maxLabelsPerSeries {
            return (
                .tooManyLabels,
                "\(metric.name) has \(metric.labels.count) labels, more than metrics.max_labels_per_series "
                    + "(\(limits.maxLabelsPerSeries))"
            )
        }
        if let long = metric.labels.first(where: { $0.value.utf8.count > limits.maxLabelValueLength }) {
            return (
                .labelValueTooLong,
                "label '\(long.name)' of \(metric.name) is \(long.value.utf8.count) bytes long, more than "
                    + "metrics.max_label_value_length (\(limits.maxLabelValueLength))"
            )
        }
        if state.series[key] == nil, state.seriesPerMetric[metric.name, default: 0] >= limits.maxSeriesPerMetric {
            return (
                .seriesLimit,
                "\(metric.name) already has \(limits.maxSeriesPerMetric) series, the metrics.max_series_per_metric "
                    + "limit; a new series was refused"
            )
        }
        return nil
    }
}
