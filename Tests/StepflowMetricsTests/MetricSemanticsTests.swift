import Clocks
import Foundation
import Logging
import StepflowCore
import StepflowMetrics
import StepflowStorage
import Synchronization
import StepflowTestSupport
import Testing

@Suite("Metric semantics: buckets, quantiles, NaN, series identity, filters, backpressure")
struct MetricSemanticsTests {
    func engine(
        _ options: MetricsEngineOptions = .default, capacity: Int = 10_000, clock: ManualClock = ManualClock()
    ) -> (MetricsEngine, MetricsWriteQueue) {
        let queue = MetricsWriteQueue(capacity: capacity, batchSize: 100)
        return (MetricsEngine(queue: queue, logger: Logger(label: "test"), options: options, now: { clock.now }), queue)
    }

    @Test("a histogram uses the bounds configured for its name, others the default bounds")
    func bucketsPerMetric() async throws {
        let (engine, _) = engine(MetricsEngineOptions(defaultBuckets: [1, 10], buckets: ["fast_seconds": [0.01, 0.1]]))
        for value in [0.005, 0.05, 0.5] { try await engine.recordHistogram("fast_seconds", value: value, labels: []) }
        for value in [0.5, 5, 50] { try await engine.recordHistogram("slow_seconds", value: value, labels: []) }
        guard case .histogram(let fast) = try await engine.getMetric("fast_seconds", labels: []),
            case .histogram(let slow) = try await engine.getMetric("slow_seconds", labels: [])
        else {
            Issue.record("not histograms")
            return
        }
        #expect(fast.buckets == [HistogramBucket(upperBound: 0.01, count: 1), HistogramBucket(upperBound: 0.1, count: 2)])
        #expect(fast.count == 3)
        #expect(slow.buckets == [HistogramBucket(upperBound: 1, count: 1), HistogramBucket(upperBound: 10, count: 2)])
    }

    @Test("NaN lands only in +Inf and makes the sum NaN; -Inf lands in the first bucket")
    func histogramNaN() async throws {
        let (engine, _) = engine(MetricsEngineOptions(defaultBuckets: [1, 10]))
        try await engine.recordHistogram("h", value: .nan, labels: [])
        try await engine.recordHistogram("h", value: -.infinity, labels: [])
        try await engine.recordHistogram("h", value: .infinity, labels: [])
        guard case .histogram(let histogram) = try await engine.getMetric("h", labels: []) else { return }
        #expect(histogram.count == 3)
        #expect(histogram.sum.isNaN)
        #expect(histogram.buckets.map(\.count) == [1, 1])  // -Inf ≤ 1; NaN and +Inf only in the implied +Inf bucket
    }

    @Test("summaries report the configured quantiles over a sliding window of time")
    func summaryWindow() async throws {
        let clock = ManualClock()
        let (engine, _) = engine(
            MetricsEngineOptions(quantiles: [0.5, 0.75], summaryMaxAge: .seconds(60)), clock: clock)
        for value in 1...10 { try await engine.recordSummary("s", value: Double(value), labels: []) }
        guard case .summary(let early) = try await engine.getMetric("s", labels: []) else { return }
        #expect(early.quantiles == [Quantile(quantile: 0.5, value: 5), Quantile(quantile: 0.75, value: 8)])
        clock.advance(by: 61)
        for value in [100.0, 200, 300, .nan] { try await engine.recordSummary("s", value: value, labels: []) }
        guard case .summary(let late) = try await engine.getMetric("s", labels: []) else { return }
        // The first ten fell out of the window; NaN counts but is not a quantile.
        #expect(late.quantiles == [Quantile(quantile: 0.5, value: 200), Quantile(quantile: 0.75, value: 300)])
        #expect(late.count == 14)
        #expect(late.sum.isNaN)
    }

    @Test("a summary with no observations in its window reports NaN quantiles, as Prometheus does")
    func emptySummary() async throws {
        let clock = ManualClock()
        let (engine, _) = engine(MetricsEngineOptions(summaryMaxAge: .seconds(1)), clock: clock)
        try await engine.recordSummary("s", value: .nan, labels: [])
        guard case .summary(let summary) = try await engine.getMetric("s", labels: []) else { return }
        #expect(summary.quantiles.count == 3)
        #expect(summary.quantiles.allSatisfy { $0.value.isNaN })
    }

    @Test("a series is its name plus its label set: label order does not matter, values do")
    func seriesIdentity() async throws {
        let (engine, _) = engine()
        engine.record([
            Metric(name: "disk", value: .gauge(1), labels: [Label("dev", "sda"), Label("mount", "/")]),
            Metric(name: "disk", value: .gauge(2), labels: [Label("mount", "/"), Label("dev", "sda")]),
            Metric(name: "disk", value: .gauge(3), labels: [Label("mount", "/"), Label("dev", "sdb")]),
        ])
        #expect(engine.seriesCount == 2)
        #expect(try await engine.getMetric("disk", labels: [Label("dev", "sda"), Label("mount", "/")]) == .gauge(2))
        #expect(try await engine.getMetric("disk", labels: [Label("dev", "sda")]) == nil)
        #expect(try await engine.getMetric("disk", labels: [Label("mount", "/"), Label("dev", "sdb")]) == .gauge(3))
        let listed = try await engine.listMetrics(filter: nil)
        #expect(listed.map(\.labels) == [
            [Label("dev", "sda"), Label("mount", "/")], [Label("dev", "sdb"), Label("mount", "/")],
        ])
    }

    @Test("an older sample is stored but does not replace a newer current value")
    func outOfOrder() async throws {
        let (engine, queue) = engine()
        let now = Date()
        engine.record([Metric(name: "g", value: .gauge(2), timestamp: now)])
        engine.record([Metric(name: "g", value: .gauge(1), timestamp: now.addingTimeInterval(-10))])
        #expect(try await engine.getMetric("g", labels: []) == .gauge(2))
        #expect(queue.depth == 2)
    }

    @Test("filters match by regex, label matchers (=, !=, =~, !~, absent labels as \"\") and time range")
    func filters() async throws {
        let (engine, _) = engine()
        let now = Date()
        engine.record([
            Metric(name: "http_requests_total", value: .counter(1), labels: [Label("code", "200"), Label("job", "api")], timestamp: now),
            Metric(name: "http_requests_total", value: .counter(2), labels: [Label("code", "500"), Label("job", "api")], timestamp: now),
            Metric(name: "http_requests_total", value: .counter(3), labels: [Label("code", "503")], timestamp: now.addingTimeInterval(-3600)),
            Metric(name: "up", value: .gauge(1), labels: [Label("job", "api")], timestamp: now),
        ])
        func values(_ selector: String, since: Date? = nil) async throws -> [MetricValue] {
            try await engine.listMetrics(filter: MetricFilter(selector: try MetricSelector.parse(selector), since: since))
                .map(\.value)
        }
        #expect(try await values(#"http_requests_total{code=~"5.."}"#) == [.counter(2), .counter(3)])
        #expect(try await values(#"http_requests_total{code!~"5.*"}"#) == [.counter(1)])
        #expect(try await values(#"http_requests_total{job!="api"}"#) == [.counter(3)])
        #expect(try await values(#"http_requests_total{job=""}"#) == [.counter(3)])
        #expect(try await values(#"{__name__=~"http_.*", code="200"}"#) == [.counter(1)])
        #expect(try await values(#"http_requests_total"#, since: now.addingTimeInterval(-60)) == [.counter(1), .counter(2)])
        let byRegex = try await engine.listMetrics(filter: MetricFilter(nameRegex: try AnchoredRegex("u.")))
        #expect(byRegex.map(\.name) == ["up"])
        await #expect(throws: MonitoringError.self) {
            _ = try await engine.listMetrics(filter: MetricFilter(since: now, until: now.addingTimeInterval(-1)))
        }
    }

    @Test("record_metrics waits for room when the queue is full, then drops and says so past the timeout")
    func backpressure() async throws {
        // The queue's timeouts run on a clock the test moves: no sleeping, and no race with a slow machine.
        let clock = TestClock()
        let queue = MetricsWriteQueue(capacity: 10, batchSize: 10, clock: clock)
        let engine = MetricsEngine(
            queue: queue, logger: Logger(label: "test"), options: MetricsEngineOptions(backpressureTimeout: .milliseconds(200)))
        try await engine.recordMetrics((0..<10).map { Metric(name: "g", value: .gauge(Double($0)), labels: [Label("i", "\($0)")]) })
        // The next call waits for room; a "writer" makes some while it waits, so nothing is dropped.
        let waiting = Task {
            try await engine.recordMetrics((0..<5).map { Metric(name: "g", value: .gauge(1), labels: [Label("i", "\($0)")]) })
        }
        #expect(await eventually { queue.waitingForRoom == 1 })
        _ = queue.drain(max: 5)
        try await waiting.value
        #expect(queue.depth == 10)
        #expect(queue.dropped == 0)
        // Nobody drains now: once the timeout has passed on the queue's clock, the rest is dropped, counted, and
        // the caller is told.
        let refused = Task {
            try await engine.recordMetrics([Metric(name: "g", value: .gauge(9), labels: [Label("i", "x")])])
        }
        #expect(await eventually { queue.waitingForRoom == 1 })
        await clock.advance(by: .milliseconds(199))
        #expect(queue.dropped == 0)
        await clock.advance(by: .milliseconds(1))
        let error = await #expect(throws: MonitoringError.self) { try await refused.value }
        #expect(error?.code == .queueFull)
        #expect(queue.dropped == 1)
    }
}
