import Foundation
import StepflowCore
import StepflowMetrics
import StepflowStorage
import StepflowTestSupport
import Logging
import Testing

@Suite("Aggregation of raw samples into interval aggregates")
struct AggregationJobTests {
    /// A whole multiple of five minutes, so intervals start at round times.
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func database() throws -> (MonitoringDatabase, String) {
        let directory = Scratch.root + "stepflow-aggregation-" + UUID().uuidString
        return (try MonitoringDatabase(path: directory + "/a.sqlite"), directory)
    }

    /// One sample every 10 s for the last 20 minutes, for two series of `load` (values 0, 1, 2, …) and one NaN gauge.
    func seed(_ store: MetricStore) async throws {
        var samples: [Metric] = []
        for step in 0..<120 {
            let time = now.addingTimeInterval(-1200 + Double(step) * 10)
            for host in ["a", "b"] {
                samples.append(Metric(
                    name: "load", value: .gauge(Double(step) + (host == "b" ? 1000 : 0)), labels: [Label("host", host)],
                    timestamp: time))
            }
            samples.append(Metric(name: "ratio", value: .gauge(.nan), timestamp: time))
        }
        try await store.insert(samples)
    }

    /// A seeded database whose samples were rolled up once, `now`.
    func rolledUp() async throws -> (MonitoringDatabase, MetricStore, AggregationJob, String) {
        let (database, directory) = try database()
        let store = MetricStore(database: database)
        try await seed(store)
        let fixed = now
        let job = AggregationJob(store: store, interval: .seconds(300), logger: Logger(label: "test"), now: { fixed })
        try await job.run()
        return (database, store, job, directory)
    }

    @Test("raw samples older than one interval become one aggregate per series and interval; queries read both")
    func rollsUpAndAnswers() async throws {
        let (_, store, job, directory) = try await rolledUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // Cut-off: now - 5 min. Samples in [now-20m, now-5m) are rolled into three 5-minute intervals.
        #expect(job.counts.rows == 90 * 3)
        await #expect(try store.count(name: "load") == 60)
        await #expect(try store.aggregateCount(name: "load") == 6)
        await #expect(try store.aggregateCount(name: "ratio") == 3)

        let from = now.addingTimeInterval(-3600).unixMillisecondsForTests
        let to = now.unixMillisecondsForTests
        let series = try await store.series(named: "load", from: from, to: to, matches: { $0 == [Label("host", "a")] })
        #expect(series.count == 1)
        let points = try #require(series.first?.points)
        #expect(points.filter { $0.kind == .aggregate }.count == 3)
        #expect(points.filter { $0.kind == .raw }.count == 30)
        let first = try #require(points.first)
        #expect(first.kind == .aggregate)
        #expect(first.timestamp == now.addingTimeInterval(-1200).unixMillisecondsForTests)
        #expect(first.aggregate?.samples == 30)
        #expect(first.aggregate?.min == 0)
        #expect(first.aggregate?.max == 29)
        #expect(first.aggregate?.sum == Double((0..<30).reduce(0, +)))
        #expect(first.aggregate?.last == 29)
        #expect(first.value == .gauge(29))
        // The raw samples still there come after the aggregates, in order.
        #expect(points.map(\.timestamp) == points.map(\.timestamp).sorted())

        let rawOnly = try await store.series(named: "load", from: from, to: to, selection: .raw)
        #expect(rawOnly.allSatisfy { $0.points.allSatisfy { $0.kind == .raw } })
        let aggregatedOnly = try await store.series(named: "load", from: from, to: to, selection: .aggregated)
        #expect(aggregatedOnly.flatMap(\.points).count == 6)

        // NaN samples are counted but leave min, max, sum and last empty.
        let ratio = try await #require(try store.series(named: "ratio", from: from, to: to, selection: .aggregated).first)
        #expect(ratio.points.first?.aggregate?.samples == 30)
        #expect(ratio.points.first?.aggregate?.min == nil)
    }

    @Test("late samples for an interval already rolled up are merged into its aggregate, not duplicated")
    func mergesLateSamples() async throws {
        let (_, store, job, directory) = try await rolledUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let late = now.addingTimeInterval(-1195)
        try await store.insert([Metric(name: "load", value: .gauge(-5), labels: [Label("host", "a")], timestamp: late)])
        try await job.run()
        await #expect(try store.aggregateCount(name: "load") == 6)
        let aggregate = try await #require(try store.series(
            named: "load", from: 0, to: now.unixMillisecondsForTests, selection: .aggregated,
            matches: { $0 == [Label("host", "a")] }).first?.points.first?.aggregate)
        #expect(aggregate.samples == 31)
        #expect(aggregate.min == -5)
        #expect(aggregate.last == 29)
    }

    @Test("retention deletes aggregates whose interval is past retention_days")
    func retentionCoversAggregates() async throws {
        let (database, store, _, directory) = try await rolledUp()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let later = now.addingTimeInterval(86_400 + 3600)
        let retention = RetentionJob(
            metrics: store, healthChecks: HealthCheckStore(database: database), retentionDays: 1,
            logger: Logger(label: "test"), now: { later })
        try await retention.run()
        await #expect(try store.aggregateCount() == 0)
        await #expect(try store.count() == 0)
    }
}

extension Date {
    var unixMillisecondsForTests: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}
