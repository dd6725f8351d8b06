import CoreMetrics
import Foundation
import Logging
import StepflowCore
import StepflowMetrics
import StepflowStorage
import Testing

@Suite("The swift-metrics backend")
struct StepflowMetricsFactoryTests {
    @Test("every swift-metrics instrument becomes a sample of the matching type, with sanitized names")
    func instrumentsSnapshot() throws {
        let factory = StepflowMetricsFactory()
        let counter = Counter(label: "http.requests_total", dimensions: [("method", "GET")], factory: factory)
        counter.increment()
        counter.increment(by: 4)
        Counter(label: "http.requests_total", dimensions: [("method", "GET")], factory: factory).increment()
        FloatingPointCounter(label: "cpu_seconds_total", factory: factory).increment(by: 0.25)
        let meter = Meter(label: "queue-depth", factory: factory)
        meter.set(7)
        meter.increment(by: 2)
        Recorder(label: "last_size", aggregate: false, factory: factory).record(42)
        let sizes = Recorder(label: "payload.bytes", factory: factory)
        for value in [0.003, 0.2, 7.0] { sizes.record(value) }
        Timer(label: "db.query", dimensions: [("table", "metrics")], factory: factory).recordNanoseconds(30_000_000)

        let byName = Dictionary(uniqueKeysWithValues: factory.snapshot().map { ($0.name, $0) })
        #expect(byName["http_requests_total"]?.value == .counter(6))
        #expect(byName["http_requests_total"]?.labels == [Label("method", "GET")])
        #expect(byName["cpu_seconds_total"]?.value == .counter(0.25))
        #expect(byName["queue_depth"]?.value == .gauge(9))
        #expect(byName["last_size"]?.value == .gauge(42))
        guard case .histogram(let payload)? = byName["payload_bytes"]?.value else {
            Issue.record("payload_bytes is not a histogram")
            return
        }
        #expect(payload.count == 3)
        #expect(payload.buckets.first { $0.upperBound == 0.25 }?.count == 2)
        guard case .histogram(let query)? = byName["db_query_seconds"]?.value else {
            Issue.record("db_query_seconds is not a histogram")
            return
        }
        #expect(query.count == 1)
        #expect(abs(query.sum - 0.03) < 1e-9)
        #expect(query.buckets.first { $0.upperBound == 0.05 }?.count == 1)
        #expect(factory.snapshot().allSatisfy { MetricNameRules.problem(with: $0) == nil })
    }

    @Test("destroying an instrument drops it from the snapshot; a meter never set reports nothing")
    func destroyAndEmpty() {
        let factory = StepflowMetricsFactory()
        let counter = Counter(label: "gone_total", factory: factory)
        counter.increment()
        _ = Meter(label: "never_set", factory: factory)
        #expect(factory.snapshot().map(\.name) == ["gone_total"])
        counter.destroy()
        #expect(factory.snapshot().isEmpty)
    }

    @Test("the snapshot job records the instruments into the metrics engine")
    func snapshotJobRecords() async throws {
        let factory = StepflowMetricsFactory()
        let queue = MetricsWriteQueue(capacity: 1000, batchSize: 100)
        let engine = MetricsEngine(queue: queue, logger: Logger(label: "test"))
        let job = SwiftMetricsSnapshotJob(factory: factory, engine: engine, logger: Logger(label: "test"))
        Counter(label: "jobs_total", factory: factory).increment(by: 3)
        try await job.run()
        #expect(try await engine.getMetric("jobs_total", labels: []) == .counter(3))
        Counter(label: "jobs_total", factory: factory).increment(by: 2)
        await job.shutdown()
        #expect(try await engine.getMetric("jobs_total", labels: []) == .counter(5))
        #expect(queue.depth == 2)
    }
}
