import Foundation
import StepflowCore
import Testing

/// The hot-path batch every sample travels in: what the engine relies on.
@Suite("MetricBatch")
struct MetricBatchTests {
    let time = Date(timeIntervalSince1970: 1_800_000_000)

    func gauge(_ name: String, _ labels: [Label], _ value: Double = 1) -> Metric {
        Metric(name: name, value: .gauge(value), labels: labels, timestamp: time)
    }

    @Test("a batch reads back as the metrics it was built from, values of every type included")
    func readsBack() {
        let metrics = [
            gauge("temp", [Label("room", "b")], 21.5),
            Metric(name: "jobs_total", value: .counter(7), labels: [], timestamp: time),
            Metric(
                name: "lat", value: .histogram(HistogramValue(sum: 3.5, count: 4, buckets: [HistogramBucket(upperBound: 1, count: 3)])),
                labels: [Label("path", "/")], timestamp: time),
        ]
        let batch = MetricBatch(metrics)
        #expect(batch.count == 3)
        #expect(batch.map(\.name) == ["temp", "jobs_total", "lat"])
        #expect(batch.map(\.value) == metrics.map(\.value))
        #expect(batch[0].labels == [Label("room", "b")])
    }

    @Test("a series' fingerprint does not depend on the order its labels are given in")
    func fingerprintIgnoresOrder() {
        let batch = MetricBatch([
            gauge("m", [Label("a", "1"), Label("b", "2")]), gauge("m", [Label("b", "2"), Label("a", "1")]),
            gauge("m", [Label("a", "2"), Label("b", "1")]),
        ])
        #expect(batch.fingerprint(at: 0) == batch.fingerprint(at: 1))
        #expect(batch.fingerprint(at: 0) != batch.fingerprint(at: 2), "swapped values are another series")
    }

    @Test("an entry's labels are added to every sample, replacing a label of the same name")
    func addingLabels() {
        let batch = MetricBatch([gauge("up", [Label("instance", "plugin-said"), Label("job", "x")]), gauge("up", [])])
            .addingLabels([Label("instance", "a"), Label("site", "paris")])
        #expect(batch[0].labels.sorted() == [Label("instance", "a"), Label("job", "x"), Label("site", "paris")])
        #expect(batch[1].labels.sorted() == [Label("instance", "a"), Label("site", "paris")])
        let same = MetricBatch([gauge("up", [Label("instance", "a"), Label("site", "paris")])])
        #expect(batch.fingerprint(at: 1) == same.fingerprint(at: 0), "added labels make the same series as given ones")
    }

    @Test("keeping some positions keeps those samples whole, in order")
    func keeping() {
        let batch = MetricBatch((0..<5).map { gauge("m\($0)", [Label("i", "\($0)")], Double($0)) })
        let kept = batch.keeping([1, 3])
        #expect(kept.map(\.name) == ["m1", "m3"])
        #expect(kept.map(\.value) == [.gauge(1), .gauge(3)])
        #expect(kept.fingerprint(at: 1) == batch.fingerprint(at: 3))
    }
}
