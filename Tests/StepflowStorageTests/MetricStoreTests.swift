import Foundation
import GRDB
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
        let read = try await store.samples(name: "m")
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
        await #expect(try store.count(name: "batch") == 1000)
    }
}

@Suite("Stored rows outside the valid time range")
struct OutOfRangeRowTests {
    @Test("aggregation steps over rows whose time no check would accept, and rolls up the others")
    func rollUpSkipsPoisonRows() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try MonitoringDatabase(path: directory.file("m.sqlite"))
        let store = MetricStore(database: database)
        try await store.insert([Metric(name: "good", value: .gauge(1), timestamp: Date(timeIntervalSince1970: 1_000))])
        // What an older version stored from `"timestamp": -9223372036854775808`.
        try await database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO monitoring_metrics (name, value_type, value_data, labels, timestamp)
                VALUES ('poison', 'gauge', '1', NULL, ?), ('poison', 'gauge', '1', NULL, ?)
                """, arguments: [Int64.min, Int64.max])
        }
        for _ in 0..<3 {
            _ = try await store.rollUp(before: Int64.max, intervalMilliseconds: Int64.max)
            _ = try await store.rollUp(before: Int64.min, intervalMilliseconds: 1)
        }
        let rolled = try await store.rollUp(before: 10_000_000, intervalMilliseconds: 60_000)
        #expect(rolled == 0)  // the good row went in the first pass
        let points = try await store.series(named: "good", from: 0, to: 10_000_000)
        #expect(points.first?.points.count == 1)
    }

    @Test("log and trace statistics over rows with extreme or missing times do not trap")
    func statsOverPoisonRows() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try MonitoringDatabase(path: directory.file("m.sqlite"))
        try await database.pool.write { db in
            for (index, time) in [Int64.min, Int64.max, 0].enumerated() {
                try db.execute(sql: """
                    INSERT INTO monitoring_logs (log_id, level, message, component, module, function, timestamp)
                    VALUES (?, 'info', 'm', 'c', 'm', 'f', ?)
                    """, arguments: ["l\(index)", time])
            }
            try db.execute(sql: """
                INSERT INTO monitoring_traces (trace_id, span_id, name, start_time, end_time, status)
                VALUES ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 'op', ?, ?, 'ok'),
                       ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b8', 'op', 0, NULL, 'ok'),
                       ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b9', 'op', 1000, 1500, 'ok')
                """, arguments: [Int64.min, Int64.max])
        }
        let logs = try await LogStore(database: database).stats(nil)
        #expect(logs.total == 3)
        let traces = try await TraceStore(database: database).stats(nil)
        #expect(traces.spans == 2)  // the span without an end has no duration to count
        #expect(traces.operations.first?.count == 2)
    }
}
