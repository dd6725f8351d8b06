import Foundation
import Logging
import StepflowCore
import StepflowMetrics
import StepflowStorage
import Testing

@Suite("The metrics engine")
struct MetricsEngineTests {
    func makeEngine(capacity: Int = 10_000) -> (MetricsEngine, MetricsWriteQueue) {
        let queue = MetricsWriteQueue(capacity: capacity, batchSize: 100)
        return (MetricsEngine(queue: queue, logger: Logger(label: "test")), queue)
    }

    @Test("counters add up per series, labels in any order naming the same series")
    func counters() async throws {
        let (engine, queue) = makeEngine()
        try await engine.incrementCounter("requests_total", by: 2, labels: [Label("a", "1"), Label("b", "2")])
        try await engine.incrementCounter("requests_total", by: UInt64(3), labels: [Label("b", "2"), Label("a", "1")])
        try await engine.incrementCounter("requests_total", by: 0.5, labels: [Label("a", "other")])
        #expect(try await engine.getMetric("requests_total", labels: [Label("a", "1"), Label("b", "2")]) == .counter(5))
        #expect(try await engine.getMetric("requests_total", labels: [Label("a", "other")]) == .counter(0.5))
        #expect(queue.depth == 3)
        let error = await #expect(throws: MonitoringError.self) {
            try await engine.incrementCounter("requests_total", by: -1.0, labels: [])
        }
        #expect(error?.code == .invalidMetricValue)
    }

    @Test("a sample dated outside the years 1970 to 9999 is refused by reason, never clamped and stored")
    func outOfRangeDatesAreRefused() async throws {
        let (engine, queue) = makeEngine()
        let report = engine.record([
            Metric(name: "future", value: .gauge(1), timestamp: Date(timeIntervalSince1970: 1e12)),  // year 33658
            Metric(name: "past", value: .gauge(1), timestamp: .distantPast),
            Metric(name: "now", value: .gauge(1)),
        ])
        #expect(report.accepted == 1)
        #expect(report.refused.map(\.name) == ["future", "past"])
        #expect(engine.refusals[.timestampOutOfRange] == 2)
        #expect(queue.depth == 1)
    }

    @Test("a histogram sample of more than 1,024 buckets, or a summary of more quantiles, is refused")
    func partLimits() {
        let (engine, queue) = makeEngine()
        func histogram(_ buckets: Int) -> Metric {
            Metric(name: "wide_seconds", value: .histogram(HistogramValue(
                sum: 1, count: 1, buckets: (0..<buckets).map { HistogramBucket(upperBound: Double($0), count: 1) })))
        }
        let summary = Metric(name: "quantiles", value: .summary(SummaryValue(
            sum: 1, count: 1, quantiles: (0...1_024).map { Quantile(quantile: Double($0) / 1_024, value: 1) })))
        let report = engine.record([histogram(1_024), histogram(1_025), summary])
        #expect(report.accepted == 1)
        #expect(report.refused.map(\.name) == ["wide_seconds", "quantiles"])
        #expect(report.refused.first?.message.contains("1025 buckets, more than 1024") == true)
        #expect(queue.depth == 1)
    }

    @Test("gauges take the last value")
    func gauges() async throws {
        let (engine, _) = makeEngine()
        try await engine.recordGauge("temperature", value: 20, labels: [])
        try await engine.recordGauge("temperature", value: -3.5, labels: [])
        #expect(try await engine.getMetric("temperature", labels: []) == .gauge(-3.5))
        #expect(try await engine.getMetric("unknown", labels: []) == nil)
    }

    @Test("histograms keep cumulative Prometheus default buckets, sum and count")
    func histograms() async throws {
        let (engine, _) = makeEngine()
        for value in [0.003, 0.2, 0.2, 7.0, 100.0] {
            try await engine.recordHistogram("latency_seconds", value: value, labels: [])
        }
        guard case .histogram(let histogram) = try await engine.getMetric("latency_seconds", labels: []) else {
            Issue.record("not a histogram")
            return
        }
        #expect(histogram.count == 5)
        #expect(abs(histogram.sum - 107.403) < 1e-9)
        let counts = Dictionary(uniqueKeysWithValues: histogram.buckets.map { ($0.upperBound, $0.count) })
        #expect(counts[0.005] == 1)
        #expect(counts[0.1] == 1)
        #expect(counts[0.25] == 3)
        #expect(counts[5] == 3)
        #expect(counts[10] == 4)
        #expect(histogram.buckets.map(\.upperBound) == MetricsEngine.defaultBuckets)
    }

    @Test("summaries report the 0.5, 0.9 and 0.99 quantiles of their window")
    func summaries() async throws {
        let (engine, _) = makeEngine()
        for value in 1...100 {
            try await engine.recordSummary("size_bytes", value: Double(value), labels: [])
        }
        guard case .summary(let summary) = try await engine.getMetric("size_bytes", labels: []) else {
            Issue.record("not a summary")
            return
        }
        #expect(summary.count == 100)
        #expect(summary.sum == 5050)
        #expect(summary.quantiles == [Quantile(quantile: 0.5, value: 50), Quantile(quantile: 0.9, value: 90),
                                      Quantile(quantile: 0.99, value: 99)])
    }

    @Test("invalid samples in a batch are refused one by one; the valid ones are kept")
    func refusesInvalidSamples() async throws {
        let (engine, queue) = makeEngine()
        let report = engine.record([
            Metric(name: "good", value: .gauge(1)),
            Metric(name: "1bad", value: .gauge(1)),
            Metric(name: "dup_labels", value: .gauge(1), labels: [Label("a", "1"), Label("a", "2")]),
            Metric(name: "bad_label", value: .gauge(1), labels: [Label("__reserved", "x")]),
            Metric(name: "negative_total", value: .counter(-1)),
            Metric(name: "good", value: .counter(1)),
        ])
        #expect(report.accepted == 1)
        #expect(report.refused.map(\.name) == ["1bad", "dup_labels", "bad_label", "negative_total", "good"])
        #expect(report.refused.last?.message.contains("is a gauge") == true)
        #expect(queue.depth == 1)
        #expect(engine.counts.refused == 5)
        await #expect(throws: MonitoringError.self) {
            try await engine.recordMetrics([Metric(name: "", value: .gauge(1))])
        }
    }

    @Test("list_metrics filters by name, prefix, type and labels, sorted")
    func listsWithFilter() async throws {
        let (engine, _) = makeEngine()
        engine.record([
            Metric(name: "node_load1", value: .gauge(1), metadata: ["help": "1m load"]),
            Metric(name: "node_load5", value: .gauge(2)),
            Metric(name: "disk_bytes", value: .gauge(3), labels: [Label("mount", "/")]),
            Metric(name: "disk_bytes", value: .gauge(4), labels: [Label("mount", "/home")]),
            Metric(name: "jobs_total", value: .counter(5)),
        ])
        #expect(try await engine.listMetrics(filter: nil).map(\.name)
                == ["disk_bytes", "disk_bytes", "jobs_total", "node_load1", "node_load5"])
        #expect(try await engine.listMetrics(filter: MetricFilter(namePrefix: "node_")).map(\.name) == ["node_load1", "node_load5"])
        #expect(try await engine.listMetrics(filter: MetricFilter(type: .counter)).map(\.name) == ["jobs_total"])
        let home = try await engine.listMetrics(filter: MetricFilter(name: "disk_bytes", labels: [Label("mount", "/home")]))
        #expect(home.map(\.value) == [.gauge(4)])
        #expect(try await engine.listMetrics(filter: MetricFilter(name: "node_load1")).first?.help == "1m load")
    }

    @Test("a full write queue drops and counts what does not fit, never growing")
    func boundedQueue() {
        let (engine, queue) = makeEngine(capacity: 10)
        let report = engine.record((0..<15).map { Metric(name: "g", value: .gauge(Double($0)), labels: [Label("i", "\($0)")]) })
        #expect(report.accepted == 15)
        #expect(report.dropped == 5)
        #expect(queue.depth == 10)
        #expect(queue.dropped == 5)
    }
}
