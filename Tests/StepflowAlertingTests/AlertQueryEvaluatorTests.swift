import Foundation
import Logging
import StepflowAlerting
import StepflowCore
import StepflowHealth
import StepflowMetrics
import StepflowStorage
import StepflowTestSupport
import Testing

/// A real database with fixed samples and logs, an engine holding current values, and a health monitor.
struct AlertDataFixture {
    let directory: String
    let evaluator: AlertQueryEvaluator
    let engine: MetricsEngine
    let metrics: MetricStore
    let logs: LogStore
    let health: HealthMonitor
    /// The evaluation time: a whole minute.
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        directory = Scratch.root + "alert-query-" + UUID().uuidString
        let database = try MonitoringDatabase(path: directory + "/a.sqlite")
        metrics = MetricStore(database: database)
        logs = LogStore(database: database)
        engine = MetricsEngine(queue: MetricsWriteQueue(capacity: 100_000, batchSize: 1000), logger: Logger(label: "test"))
        health = HealthMonitor(timeout: .seconds(1))
        evaluator = AlertQueryEvaluator(engine: engine, metrics: metrics, logs: logs, health: health)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    func at(_ secondsAgo: Double) -> Date { now.addingTimeInterval(-secondsAgo) }

    /// Stores `values` of one series, one every `step` seconds, the last at `now`.
    func store(_ name: String, _ labels: [Label], _ values: [MetricValue], step: Double = 10) async throws {
        let metrics = values.enumerated().map { index, value in
            Metric(name: name, value: value, labels: labels, timestamp: at(Double(values.count - 1 - index) * step))
        }
        try await self.metrics.insert(metrics)
    }

    func evaluate(_ text: String) async throws -> [QuerySeries] {
        try await evaluator.evaluate(try AlertQuery.parse(text), at: now)
    }

    func numbers(_ text: String) async throws -> [String: Double] {
        var out: [String: Double] = [:]
        for series in try await evaluate(text) {
            out[series.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")] = series.value.number
        }
        return out
    }
}

struct StaticCheck: HealthCheck {
    let status: HealthStatus
    func check() async -> HealthStatus { status }
}

@Suite("The alert query language: evaluation over stored data")
struct AlertQueryEvaluatorTests {
    @Test("rate and increase follow Prometheus: exact over aligned samples, resets added back, too few points give nothing")
    func counters() async throws {
        let fixture = try AlertDataFixture()
        defer { fixture.remove() }
        // 31 samples 10 s apart over the last 300 s: code 500 grows by 1 per sample, code 200 by 10.
        try await fixture.store("requests_total", [Label("code", "500"), Label("job", "api")], (0...30).map { .counter(Double($0)) })
        try await fixture.store("requests_total", [Label("code", "200"), Label("job", "api")], (0...30).map { .counter(Double($0 * 10)) })
        // A counter that resets halfway: 0…15, then 0…14 → an increase of 15 + 14 = 29.
        try await fixture.store("restarts_total", [Label("job", "worker")], ((0...15).map { Double($0) } + (0...14).map { Double($0) }).map { .counter($0) })
        try await fixture.store("lonely_total", [], [.counter(5)])

        let rates = try await fixture.numbers("rate(requests_total[5m])")
        #expect(rates == ["code=200,job=api": 1.0, "code=500,job=api": 0.1])
        #expect(try await fixture.numbers("increase(requests_total{code=\"500\"}[5m])") == ["code=500,job=api": 30])
        let restarts = try #require(try await fixture.numbers("increase(restarts_total[5m])")["job=worker"])
        #expect(abs(restarts - 29) < 1e-9)
        #expect(try await fixture.evaluate("rate(lonely_total[5m])").isEmpty)
        // Half the range: its first sample sits on its start (ranges include both ends): nothing to extrapolate.
        let half = try #require(try await fixture.numbers("increase(requests_total{code=\"500\"}[150s])")["code=500,job=api"])
        #expect(abs(half - 15) < 1e-9, "\(half)")
    }

    @Test("over_time functions, quantiles, aggregations by label and arithmetic between queries")
    func gaugesAndAggregation() async throws {
        let fixture = try AlertDataFixture()
        defer { fixture.remove() }
        try await fixture.store("temp_celsius", [Label("room", "a"), Label("site", "x")], [20, 22, 24, 26, 28].map { .gauge($0) })
        try await fixture.store("temp_celsius", [Label("room", "b"), Label("site", "x")], [10, 10, 10, 10, 40].map { .gauge($0) })
        try await fixture.store("temp_celsius", [Label("room", "c"), Label("site", "y")], [5, 5, 5, 5, 5].map { .gauge($0) })
        #expect(try await fixture.numbers("avg_over_time(temp_celsius{room=\"a\"}[1m])") == ["room=a,site=x": 24])
        #expect(try await fixture.numbers("min_over_time(temp_celsius{room=\"b\"}[1m])") == ["room=b,site=x": 10])
        #expect(try await fixture.numbers("max_over_time(temp_celsius{room=\"b\"}[1m])") == ["room=b,site=x": 40])
        #expect(try await fixture.numbers("sum_over_time(temp_celsius{room=\"c\"}[1m])") == ["room=c,site=y": 25])
        #expect(try await fixture.numbers("count_over_time(temp_celsius[25s])")["room=a,site=x"] == 3)
        #expect(try await fixture.numbers("quantile_over_time(0.5, temp_celsius{room=\"a\"}[1m])") == ["room=a,site=x": 24])
        let p90 = try #require(try await fixture.numbers("quantile_over_time(0.9, temp_celsius{room=\"b\"}[1m])")["room=b,site=x"])
        #expect(abs(p90 - 28) < 1e-9)  // rank 3.6 of [10, 10, 10, 10, 40]
        let bySite = try await fixture.numbers("max by (site) (max_over_time(temp_celsius[1m]))")
        #expect(bySite == ["site=x": 40, "site=y": 5])
        #expect(try await fixture.numbers("count(max_over_time(temp_celsius[1m]))") == ["": 3])
        #expect(try await fixture.numbers("sum(max_over_time(temp_celsius[1m])) by (site) / 2") == ["site=x": 34, "site=y": 2.5])
        let ratio = try await fixture.numbers(
            "max_over_time(temp_celsius[1m]) / min_over_time(temp_celsius[1m])")
        #expect(ratio == ["room=a,site=x": 1.4, "room=b,site=x": 4, "room=c,site=y": 1])
    }

    @Test("ranges over rolled-up data use each interval's count, sum, min and max; counters its last value")
    func aggregatedRanges() async throws {
        let fixture = try AlertDataFixture()
        defer { fixture.remove() }
        // Two hours of one sample a minute: values 0…119 for the gauge, 0, 2, 4… for the counter.
        try await fixture.store("load", [], (0..<120).map { .gauge(Double($0)) }, step: 60)
        try await fixture.store("work_total", [], (0..<120).map { .counter(Double($0 * 2)) }, step: 60)
        let before = try await fixture.numbers("avg_over_time(load[3h])")
        // Everything older than the last 30 minutes into 5-minute aggregates.
        let rolled = try await fixture.metrics.rollUp(
            before: fixture.at(1800).unixMilliseconds, intervalMilliseconds: 300_000)
        #expect(rolled > 150)
        #expect(try await fixture.numbers("avg_over_time(load[3h])") == before)
        #expect(try await fixture.numbers("count_over_time(load[3h])") == ["": 120])
        #expect(try await fixture.numbers("sum_over_time(load[3h])") == ["": Double((0..<120).reduce(0, +))])
        #expect(try await fixture.numbers("min_over_time(load[3h])") == ["": 0])
        #expect(try await fixture.numbers("max_over_time(load[3h])") == ["": 119])
        let increase = try #require(try await fixture.numbers("increase(work_total[3h])")[""])
        #expect(increase > 230 && increase < 240, "\(increase)")  // 238 between the first and last points kept
    }

    @Test("instant selectors see current values within the lookback, histograms and summaries as Prometheus exposes them")
    func instantSelectors() async throws {
        let fixture = try AlertDataFixture()
        defer { fixture.remove() }
        let histogram = HistogramValue(sum: 12, count: 10, buckets: [
            HistogramBucket(upperBound: 0.5, count: 4), HistogramBucket(upperBound: 1, count: 9),
            HistogramBucket(upperBound: .infinity, count: 10),
        ])
        let summary = SummaryValue(sum: 30, count: 6, quantiles: [Quantile(quantile: 0.5, value: 4), Quantile(quantile: 0.99, value: 9)])
        _ = fixture.engine.record([
            Metric(name: "queue_depth", value: .gauge(7), labels: [Label("queue", "mail")], timestamp: fixture.at(30)),
            Metric(name: "queue_depth", value: .gauge(3), labels: [Label("queue", "stale")], timestamp: fixture.at(600)),
            Metric(name: "latency_seconds", value: .histogram(histogram), labels: [Label("job", "api")], timestamp: fixture.at(5)),
            Metric(name: "payload_bytes", value: .summary(summary), labels: [Label("job", "api")], timestamp: fixture.at(5)),
            Metric(name: "other_depth", value: .gauge(1), labels: [Label("queue", "mail")], timestamp: fixture.at(5)),
        ])
        #expect(try await fixture.numbers("queue_depth") == ["queue=mail": 7])  // the stale series is past the lookback
        #expect(try await fixture.numbers("latency_seconds_count") == ["job=api": 10])
        #expect(try await fixture.numbers("latency_seconds_sum / latency_seconds_count") == ["job=api": 1.2])
        #expect(try await fixture.numbers(#"latency_seconds_bucket{le="0.5"}"#) == ["job=api,le=0.5": 4])
        #expect(try await fixture.numbers(#"latency_seconds_bucket{le="+Inf"}"#) == ["job=api,le=+Inf": 10])
        #expect(try await fixture.numbers(#"payload_bytes{quantile="0.99"}"#) == ["job=api,quantile=0.99": 9])
        #expect(try await fixture.numbers("latency_seconds").isEmpty)  // a histogram's own name exposes no series
        do {
            _ = try await fixture.evaluate(#"{queue="mail"}"#)
            Issue.record("two series with the same labels were accepted")
        } catch {
            #expect("\(error)".contains("selects two series with the labels {queue=\"mail\"}"))
        }
    }

    @Test("log terms count and read the newest message per group, zero counts included")
    func logs() async throws {
        let fixture = try AlertDataFixture()
        defer { fixture.remove() }
        let entries: [(Double, LogLevel, String, String)] = [
            (400, .error, "billing", "card declined: timeout"),  // outside a 5 m window
            (200, .error, "billing", "upstream timeout after 30s"),
            (100, .warn, "billing", "slow response"),
            (50, .fatal, "db", "disk full"),
            (40, .error, "db", "write timeout"),
            (30, .info, "db", "checkpoint done"),
            (10, .error, "billing", "invalid card number"),
        ]
        try await fixture.logs.insert(entries.map { secondsAgo, level, component, message in
            LogRow(LogEntry(level: level, message: message, context: LogContext(component: component), timestamp: fixture.at(secondsAgo)))
        })
        #expect(try await fixture.numbers(#"count_logs({level>="error"}[5m])"#) == ["": 4])
        #expect(try await fixture.numbers(#"count_logs by (component) ({level>="error"}[5m])"#) == ["component=billing": 2, "component=db": 2])
        #expect(try await fixture.numbers(#"count_logs({component="billing", message=~".*timeout.*"}[10m])"#) == ["component=billing": 2])
        #expect(try await fixture.numbers(#"count_logs({component="billing", level="fatal"}[5m])"#) == ["component=billing": 0])
        #expect(try await fixture.numbers(#"count_logs by (level) ({component="db", level!="info"}[5m])"#) == ["level=error": 1, "level=fatal": 1])
        let newest = try await fixture.evaluate(#"last_log_message by (component) ({level>="error"}[5m])"#)
        #expect(newest.map(\.value) == [.text("invalid card number"), .text("write timeout")])
        #expect(newest.map { $0.label("component") } == ["billing", "db"])
        #expect(try await fixture.evaluate(#"last_log_message({component="nobody"}[5m])"#).isEmpty)
    }

    @Test("health terms give each component's latest state as text")
    func health() async throws {
        let fixture = try AlertDataFixture()
        defer { fixture.remove() }
        try await fixture.health.registerHealthCheck("storage", check: StaticCheck(status: HealthStatus(component: "storage", status: .degraded, message: "slow")))
        try await fixture.health.registerHealthCheck("scheduler", check: StaticCheck(status: HealthStatus(component: "scheduler", status: .healthy, message: "ok")))
        #expect(try await fixture.evaluate(#"health("storage")"#).map(\.value) == [.text("unknown")])  // not checked yet
        _ = await fixture.health.checkAll()
        #expect(try await fixture.evaluate(#"health("storage")"#) == [QuerySeries(labels: [Label("component", "storage")], value: .text("degraded"))])
        #expect(try await fixture.evaluate("health()").map(\.value) == [.text("healthy"), .text("degraded")])
        #expect(try await fixture.evaluate(#"health("nothing")"#).map(\.value) == [.text("unknown")])
        let unhealthy = try AlertCondition.custom(#"value != "healthy""#).compiled(for: .text)
        #expect(try await fixture.evaluate("health()").filter(unhealthy.holds).map { $0.label("component") } == ["storage"])
    }
}
