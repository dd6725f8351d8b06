import Foundation
import StepflowCore
import StepflowStorage
import Testing

@Suite("Metric rows")
struct MetricStoreTests {
    @Test("every value type survives a write and a read, labels sorted, non-finite gauges included")
    func roundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = MetricStore(database: try MonitoringDatabase(path: directory.file("m.sqlite")))
        let time = Date(timeIntervalSince1970: 1_700_000_000.123)
        let histogram = HistogramValue(sum: 3.5, count: 4, buckets: [
            HistogramBucket(upperBound: 0.5, count: 1), HistogramBucket(upperBound: 1, count: 3),
        ])
        let summary = SummaryValue(sum: 2, count: 2, quantiles: [Quantile(quantile: 0.5, value: 1)])
        let samples = [
            Metric(name: "m", value: .counter(12.5), labels: [Label("b", "2"), Label("a", "1")], timestamp: time),
            Metric(name: "m", value: .gauge(.nan), timestamp: time.addingTimeInterval(1)),
            Metric(name: "m", value: .gauge(-.infinity), timestamp: time.addingTimeInterval(2)),
            Metric(name: "m", value: .histogram(histogram), timestamp: time.addingTimeInterval(3),
                   metadata: ["help": "a \"quoted\" help"]),
            Metric(name: "m", value: .summary(summary), timestamp: time.addingTimeInterval(4)),
        ]
        try await store.insert(samples)
        let read = try store.samples(name: "m")
        #expect(read.count == 5)
        #expect(read[0].value == .counter(12.5))
        #expect(read[0].labels == [Label("a", "1"), Label("b", "2")])
        #expect(abs(read[0].timestamp.timeIntervalSince(time)) < 0.001)
        if case .gauge(let value) = read[1].value { #expect(value.isNaN) } else { Issue.record("not a gauge") }
        #expect(read[2].value == .gauge(-.infinity))
        #expect(read[3].value == .histogram(histogram))
        #expect(read[3].help == "a \"quoted\" help")
        #expect(read[4].value == .summary(summary))
    }

    @Test("a batch is written in one transaction: all rows or none")
    func batchIsAtomic() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try MonitoringDatabase(path: directory.file("m.sqlite"))
        let store = MetricStore(database: database)
        try await store.insert((0..<1000).map { Metric(name: "batch", value: .gauge(Double($0))) })
        #expect(try store.count(name: "batch") == 1000)
    }
}
