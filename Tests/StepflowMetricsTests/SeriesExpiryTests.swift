import Foundation
import Logging
import StepflowCore
import StepflowMetrics
import StepflowStorage
import StepflowTestSupport
import Testing

/// Issue 12, points 4, 7 and 9, on the engine with a clock the tests move: expiry by source, removal of a source,
/// ownership, per-source budgets, and the table staying consistent when series leave it.
@Suite("Series expiry and ownership in the metrics engine")
struct SeriesExpiryTests {
    func engine(
        _ options: MetricsEngineOptions = MetricsEngineOptions(seriesExpiry: .seconds(300)), clock: ManualClock
    ) -> MetricsEngine {
        MetricsEngine(
            queue: MetricsWriteQueue(capacity: 100_000, batchSize: 1000), logger: Logger(label: "test"), options: options,
            now: { clock.now })
    }

    func gauge(_ name: String, _ value: Double, _ labels: [Label] = [], at clock: ManualClock) -> Metric {
        Metric(name: name, value: .gauge(value), labels: labels, timestamp: clock.now)
    }

    @Test("names that come and go do not grow the table for ever: past 10,000 families without series, a sweep forgets them")
    func emptyFamiliesAreForgotten() {
        let clock = ManualClock()
        let engine = engine(clock: clock)
        for round in 0..<3 {
            engine.record(
                MetricBatch((0..<6_000).map { gauge("churn_\(round)_\($0)", 1, at: clock) }), from: .http)
            clock.advance(by: 301)
            #expect(engine.expireStale() == 6_000)
        }
        // 12,000 empty families after the second sweep: forgotten; the third leaves its 6,000.
        #expect(engine.familyCount == 6_000)
        // A forgotten name comes back as a new family, with its own type.
        engine.record(MetricBatch([Metric(name: "churn_0_1", value: .counter(1), timestamp: clock.now)]), from: .http)
        #expect(engine.value(of: "churn_0_1", labels: []) == .counter(1))
        #expect(engine.familyCount == 6_001)
    }

    @Test("HTTP and plugin series expire after their stale time; the application's never do; expiries are counted")
    func expiryBySource() {
        let clock = ManualClock()
        let engine = engine(clock: clock)
        engine.register(.plugin("fast"), policy: MetricSourcePolicy(staleAfter: .seconds(10)))
        engine.record(MetricBatch([gauge("pushed", 1, at: clock)]), from: .http)
        engine.record(MetricBatch([gauge("collected", 1, at: clock)]), from: .plugin("fast"))
        engine.record(MetricBatch([gauge("embedded", 1, at: clock)]), from: .application)
        engine.record(MetricBatch([gauge("own", 1, at: clock)]), from: .swiftMetrics)
        clock.advance(by: 11)
        #expect(engine.expireStale() == 1)
        #expect(engine.value(of: "collected", labels: []) == nil)
        #expect(engine.value(of: "pushed", labels: []) == .gauge(1))
        // A sample refreshes the series: reported at 11 s, it stays until 311 s.
        engine.record(MetricBatch([gauge("pushed", 2, at: clock)]), from: .http)
        clock.advance(by: 299)
        #expect(engine.expireStale() == 0)
        clock.advance(by: 2)
        #expect(engine.expireStale() == 1)
        #expect(engine.value(of: "pushed", labels: []) == nil)
        clock.advance(by: 86_400 * 30)
        #expect(engine.expireStale() == 0)
        #expect(engine.value(of: "embedded", labels: []) == .gauge(1))
        #expect(engine.value(of: "own", labels: []) == .gauge(1))
        #expect(engine.expiredSeries[.stale] == 2)
        #expect(engine.statistics(of: .plugin("fast")).series == 0)
    }

    @Test("metrics.series_expiry 0s (nil) keeps HTTP series for good")
    func expiryOff() {
        let clock = ManualClock()
        let engine = engine(MetricsEngineOptions(seriesExpiry: nil), clock: clock)
        engine.record(MetricBatch([gauge("pushed", 1, at: clock)]), from: .http)
        clock.advance(by: 86_400 * 365)
        #expect(engine.expireStale() == 0)
        #expect(engine.seriesCount == 1)
    }

    @Test("removing a source takes its series at once and frees them for another source")
    func removeSource() {
        let clock = ManualClock()
        let engine = engine(clock: clock)
        let batch = MetricBatch((0..<50).map { gauge("shared", Double($0), [Label("n", "\($0)")], at: clock) })
        engine.record(batch, from: .plugin("a"))
        engine.record(MetricBatch([gauge("other", 1, at: clock)]), from: .plugin("b"))
        let refused = engine.record(batch, from: .plugin("b"))
        #expect(refused.accepted == 0 && refused.refused.count == 50)
        #expect(refused.refused.first?.message.contains("belongs to plugin 'a'") == true, "\(refused.refused.first!)")
        #expect(refused.refused.first?.message.contains("plugin 'b' cannot write it") == true)
        #expect(engine.statistics(of: .plugin("b")).refused[.ownedByOtherSource] == 50)
        #expect(engine.remove(.plugin("a")) == 50)
        #expect(engine.seriesCount == 1)
        #expect(engine.expiredSeries[.sourceRemoved] == 50)
        #expect(engine.record(batch, from: .plugin("b")).accepted == 50)
        #expect(engine.statistics(of: .plugin("b")).series == 51)
    }

    @Test("a restored series belongs to the first source that reports it, and expires if none does")
    func restoredSeries() {
        let clock = ManualClock()
        let engine = engine(clock: clock)
        let info = { (name: String) in
            MetricInfo(name: name, type: .gauge, labels: [], help: nil, value: .gauge(7), lastUpdated: clock.now)
        }
        #expect(engine.restore([info("claimed"), info("orphan")]) == 2)
        engine.record(MetricBatch([gauge("claimed", 8, at: clock)]), from: .plugin("p"))
        #expect(engine.statistics(of: .plugin("p")).series == 1)
        #expect(engine.record(MetricBatch([gauge("claimed", 9, at: clock)]), from: .http).accepted == 0)
        clock.advance(by: 301)
        engine.record(MetricBatch([gauge("claimed", 10, at: clock)]), from: .plugin("p"))
        #expect(engine.expireStale() == 1)
        #expect(engine.value(of: "orphan", labels: []) == nil)
        #expect(engine.value(of: "claimed", labels: []) == .gauge(10))
    }

    @Test("a source's series budget refuses new series past it, and counts them against the source")
    func sourceBudget() {
        let clock = ManualClock()
        let engine = engine(clock: clock)
        engine.register(.plugin("small"), policy: MetricSourcePolicy(staleAfter: .seconds(60), maxSeries: 3))
        let batch = MetricBatch((0..<10).map { gauge("budgeted", 1, [Label("n", "\($0)")], at: clock) })
        let report = engine.record(batch, from: .plugin("small"))
        #expect(report.accepted == 3)
        #expect(report.refused.first?.message.contains("already owns 3 series, its budgets.series") == true)
        #expect(engine.statistics(of: .plugin("small")) .refused[.sourceSeriesLimit] == 7)
        #expect(engine.refusals[.sourceSeriesLimit] == 7)
        // Once they expire, the budget is free again.
        clock.advance(by: 61)
        engine.expireStale()
        #expect(engine.record(MetricBatch([gauge("budgeted", 1, [Label("n", "9")], at: clock)]), from: .plugin("small")).accepted == 1)
    }

    @Test("a name whose series all expired may come back with another type")
    func retypeAfterExpiry() {
        let clock = ManualClock()
        let engine = engine(clock: clock)
        engine.record(MetricBatch([gauge("shape", 1, at: clock)]), from: .http)
        let counter = Metric(name: "shape", value: .counter(1), labels: [Label("x", "1")], timestamp: clock.now)
        #expect(engine.record(MetricBatch([counter]), from: .http).refused.first?.message.contains("is a gauge") == true)
        clock.advance(by: 301)
        engine.expireStale()
        #expect(engine.record(MetricBatch([counter]), from: .http).accepted == 1)
        #expect(engine.snapshot().first?.type == .counter)
    }

    @Test("after many series leave, lookups, updates and the sorted snapshot still find exactly the others")
    func tableStaysConsistent() {
        let clock = ManualClock()
        let engine = engine(clock: clock)
        engine.register(.plugin("odd"), policy: MetricSourcePolicy(staleAfter: .seconds(5)))
        var even: [Metric] = []
        var odd: [Metric] = []
        for index in 0..<2_000 {
            let metric = gauge("m\(index % 7)", Double(index), [Label("i", "\(index)")], at: clock)
            if index % 2 == 0 { even.append(metric) } else { odd.append(metric) }
        }
        // Interleaved creation, so that the survivors are spread over the table.
        for (left, right) in zip(even, odd) {
            engine.record(MetricBatch([left]), from: .application)
            engine.record(MetricBatch([right]), from: .plugin("odd"))
        }
        _ = engine.snapshot()  // sorts the table once, so that compaction must renumber a sorted order
        clock.advance(by: 6)
        #expect(engine.expireStale() == 1_000)
        #expect(engine.seriesCount == 1_000)
        for metric in even { #expect(engine.value(of: metric.name, labels: metric.labels) == metric.value) }
        for metric in odd.prefix(50) { #expect(engine.value(of: metric.name, labels: metric.labels) == nil) }
        // Updates land on the right series, and new ones sort into place.
        engine.record(MetricBatch([gauge("m0", -1, [Label("i", "0")], at: clock)]), from: .application)
        #expect(engine.value(of: "m0", labels: [Label("i", "0")]) == .gauge(-1))
        engine.record(MetricBatch([gauge("m0", 5, [Label("i", "new")], at: clock)]), from: .application)
        let snapshot = engine.snapshot()
        #expect(snapshot.count == 1_001)
        let keys = snapshot.map { "\($0.name)|\($0.labels.map(\.value).joined())" }
        let sorted = snapshot.sorted { lhs, rhs in
            lhs.name != rhs.name ? lhs.name < rhs.name : lhs.labels.lexicographicallyPrecedes(rhs.labels)
        }.map { "\($0.name)|\($0.labels.map(\.value).joined())" }
        #expect(keys == sorted)
    }
}
