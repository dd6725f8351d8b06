import Foundation
import Logging
import StepflowCore
@testable import StepflowIngest
import StepflowMetrics
import StepflowStorage
import StepflowTestSupport
import StepflowWireFormats
import SwiftProtobuf
import Testing

/// The remote-write receiver over a real engine, write queue, writer and SQLite file: what a request becomes, and
/// what each kind of bad request is answered.
@Suite("The remote-write receiver")
struct RemoteWriteReceiverTests {
    /// A receiver over a fresh database, its writer running until `body` returns.
    struct Harness {
        let receiver: RemoteWriteReceiver
        let engine: MetricsEngine
        let store: MetricStore
        let statistics: IngestStatistics
        let queue: MetricsWriteQueue
    }

    func withReceiver(
        queueCapacity: Int = 100_000, maxDecompressed: Int = 1 << 20, roomTimeout: Duration = .seconds(5),
        running: Bool = true, _ body: (Harness) async throws -> Void
    ) async throws {
        let directory = Scratch.root + "remote-write-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try MonitoringDatabase(path: directory + "/m.sqlite")
        let logger = Logger(label: "remote-write-test")
        let queue = MetricsWriteQueue(capacity: queueCapacity, batchSize: 500)
        let engine = MetricsEngine(queue: queue, logger: logger)
        let writer = MetricsWriter(
            queue: queue, store: MetricStore(database: database), flushInterval: .milliseconds(10), logger: logger)
        let writing = Task { if running { try await writer.run() } }
        defer { writing.cancel() }
        let statistics = IngestStatistics()
        let receiver = RemoteWriteReceiver(
            engine: engine, policy: IngestPolicy(waitForCommit: true, commitTimeout: .seconds(10), roomTimeout: roomTimeout),
            maxDecompressedBytes: maxDecompressed, maxSamples: queueCapacity, statistics: statistics, logger: logger)
        try await body(Harness(
            receiver: receiver, engine: engine, store: MetricStore(database: database), statistics: statistics, queue: queue))
    }

    static func series(_ labels: [(String, String)], _ samples: [(Double, Int64)]) -> Prometheus_TimeSeries {
        var series = Prometheus_TimeSeries()
        series.labels = labels.map { name, value in
            var label = Prometheus_Label()
            label.name = name
            label.value = value
            return label
        }
        series.samples = samples.map { value, timestamp in
            var sample = Prometheus_Sample()
            sample.value = value
            sample.timestamp = timestamp
            return sample
        }
        return series
    }

    static func metadata(_ name: String, _ type: Prometheus_MetricMetadata.MetricType, help: String = "") -> Prometheus_MetricMetadata {
        var entry = Prometheus_MetricMetadata()
        entry.metricFamilyName = name
        entry.type = type
        entry.help = help
        return entry
    }

    static func body(_ request: Prometheus_WriteRequest) throws -> [UInt8] {
        Snappy.compress(try request.serializedBytes())
    }

    func send(_ harness: Harness, _ request: Prometheus_WriteRequest) async throws -> RemoteWriteReceiver.Answer {
        await harness.receiver.receive(
            try Self.body(request), contentType: "application/x-protobuf", contentEncoding: "snappy")
    }

    let now: Int64 = Date().unixMilliseconds

    @Test("samples are stored with their labels, type from metadata or name, HELP, and in time order")
    func storesSamples() async throws {
        try await withReceiver { harness in
            var metadataOnly = Prometheus_WriteRequest()
            metadataOnly.metadata = [
                Self.metadata("queue_depth", .gauge, help: "Jobs waiting."),
                Self.metadata("requests", .counter, help: "Requests served."),
                Self.metadata("latency_seconds", .histogram),
            ]
            #expect(try await send(harness, metadataOnly).status == 204)
            var request = Prometheus_WriteRequest()
            request.timeseries = [
                Self.series([("__name__", "queue_depth"), ("instance", "a:9100"), ("job", "node"), ("empty", "")],
                            [(3, now - 2_000), (4, now - 1_000)]),
                Self.series([("__name__", "requests"), ("job", "api")], [(10, now - 1_000)]),
                Self.series([("__name__", "latency_seconds_bucket"), ("le", "0.5")], [(7, now - 1_000)]),
                Self.series([("__name__", "latency_seconds_sum")], [(-1.5, now - 1_000)]),
                Self.series([("__name__", "errors_total")], [(2, now - 1_000)]),
                Self.series([("__name__", "temperature")], [(21.5, now - 1_000)]),
            ]
            let answer = try await send(harness, request)
            #expect(answer.status == 204, "\(answer.message)")
            let depth = try await harness.store.series(named: "queue_depth", from: now - 60_000, to: now)
            #expect(depth.count == 1)
            #expect(depth.first?.type == .gauge)
            #expect(depth.first?.labels == [Label("instance", "a:9100"), Label("job", "node")])
            #expect(depth.first?.points.map(\.value) == [.gauge(3), .gauge(4)])
            #expect(try await harness.store.series(named: "requests", from: now - 60_000, to: now).first?.type == .counter)
            #expect(try await harness.store.series(named: "latency_seconds_bucket", from: now - 60_000, to: now).first?.type == .counter)
            // A histogram's sum may fall: a gauge, so a negative one is kept.
            #expect(try await harness.store.series(named: "latency_seconds_sum", from: now - 60_000, to: now).first?.points.map(\.value) == [.gauge(-1.5)])
            #expect(try await harness.store.series(named: "errors_total", from: now - 60_000, to: now).first?.type == .counter)
            #expect(try await harness.store.series(named: "temperature", from: now - 60_000, to: now).first?.type == .gauge)
            let info = harness.engine.snapshot().first { $0.name == "queue_depth" }
            #expect(info?.help == "Jobs waiting.")
            #expect(info?.value == .gauge(4))
            #expect(harness.statistics.items[.init(path: RemoteWriteReceiver.path, outcome: .accepted)] == 7)
        }
    }

    @Test("stale markers, exemplars, native histograms and unnamed series are left out and counted")
    func leftOut() async throws {
        try await withReceiver { harness in
            var series = Self.series([("__name__", "up"), ("job", "x")], [(1, now - 2_000), (Double(bitPattern: 0x7FF0_0000_0000_0002), now - 1_000)])
            series.exemplars = [Data([0x0a, 0x00])]
            series.histograms = [Data([0x08, 0x01]), Data([0x08, 0x02])]
            var request = Prometheus_WriteRequest()
            request.timeseries = [series, Self.series([("job", "x")], [(1, now - 1_000)])]
            let answer = try await send(harness, request)
            #expect(answer.status == 204, "\(answer.message)")
            #expect(try await harness.store.count(name: "up") == 1)
            let items = harness.statistics.items
            func count(_ outcome: IngestOutcomeName) -> UInt64 { items[.init(path: RemoteWriteReceiver.path, outcome: outcome)] ?? 0 }
            #expect(count(.accepted) == 1)
            #expect(count(.staleMarker) == 1)
            #expect(count(.exemplarIgnored) == 1)
            #expect(count(.nativeHistogramRefused) == 2)
            #expect(count(.unnamed) == 1)
        }
    }

    @Test("samples the engine refuses are counted; a request of nothing but refused samples is a 400 naming why")
    func refusals() async throws {
        try await withReceiver { harness in
            var request = Prometheus_WriteRequest()
            request.timeseries = [
                Self.series([("__name__", "ok_gauge")], [(1, now - 1_000)]),
                Self.series([("__name__", "bad-name")], [(1, now - 1_000)]),
            ]
            #expect(try await send(harness, request).status == 204)
            var allBad = Prometheus_WriteRequest()
            allBad.timeseries = [Self.series([("__name__", "bad-name")], [(1, now - 1_000)])]
            let answer = try await send(harness, allBad)
            #expect(answer.status == 400)
            #expect(answer.message.contains("bad-name"), "\(answer.message)")
            #expect(harness.statistics.items[.init(path: RemoteWriteReceiver.path, outcome: .refused)] == 2)
            #expect(try await harness.store.count(name: "ok_gauge") == 1)
        }
    }

    @Test("bodies that are not remote write 1.0 get 400, 413 or 415 with a reason, and nothing is stored")
    func badBodies() async throws {
        try await withReceiver(maxDecompressed: 4_096) { harness in
            func answer(_ body: [UInt8], type: String? = "application/x-protobuf", encoding: String? = "snappy") async -> RemoteWriteReceiver.Answer {
                await harness.receiver.receive(body, contentType: type, contentEncoding: encoding)
            }
            let notSnappy = await answer(Array("hello".utf8))
            #expect(notSnappy.status == 400)
            #expect(notSnappy.message.contains("Snappy"), "\(notSnappy.message)")
            let notProtobuf = await answer(Snappy.compress([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
            #expect(notProtobuf.status == 400)
            #expect(notProtobuf.message.contains("WriteRequest"), "\(notProtobuf.message)")
            let tooLarge = await answer(Snappy.compress([UInt8](repeating: 0, count: 5_000)))
            #expect(tooLarge.status == 413, "\(tooLarge.message)")
            let version2 = await answer([], type: "application/x-protobuf;proto=io.prometheus.write.v2.Request")
            #expect(version2.status == 415)
            #expect(version2.message.contains("1.0"))
            #expect(await answer([], type: "application/json").status == 415)
            #expect(await answer([], encoding: "gzip").status == 415)
            // An empty body is an empty request: nothing to do.
            #expect(await answer(Snappy.compress([])).status == 204)
            let stored = try await harness.store.count()
            #expect(stored == 0)
        }
    }

    @Test("a request larger than the write queue is a 413; a series with more labels than allowed is refused whole")
    func sizeLimits() async throws {
        try await withReceiver(queueCapacity: 10) { harness in
            var large = Prometheus_WriteRequest()
            large.timeseries = [Self.series([("__name__", "many")], (0..<11).map { (Double($0), now - 20_000 + Int64($0)) })]
            let answer = try await send(harness, large)
            #expect(answer.status == 413)
            #expect(answer.message.contains("max_queue_size"), "\(answer.message)")
            let maxLabels = harness.engine.options.limits.maxLabelsPerSeries
            var wide = Prometheus_WriteRequest()
            wide.timeseries = [
                Self.series([("__name__", "wide")] + (0...maxLabels).map { ("l\($0)", "v") }, [(1, now - 1_000), (2, now - 500)]),
                Self.series([("__name__", "narrow")], [(1, now - 1_000)]),
            ]
            #expect(try await send(harness, wide).status == 204)
            #expect(harness.statistics.items[.init(path: RemoteWriteReceiver.path, outcome: .refused)] == 2)
            #expect(harness.statistics.items[.init(path: RemoteWriteReceiver.path, outcome: .accepted)] == 1)
        }
    }

    @Test("too many series for the direct reader, or messages for swift-protobuf, is a 413 before decoding")
    func decodingBudget() async throws {
        // 1 MiB decompressed: a 4 MiB decoding budget, 16,384 series.
        try await withReceiver(maxDecompressed: 1 << 20) { harness in
            func answer(_ bytes: [UInt8]) async -> RemoteWriteReceiver.Answer {
                await harness.receiver.receive(Snappy.compress(bytes), contentType: "application/x-protobuf", contentEncoding: nil)
            }
            let series = await answer((0..<16_385).flatMap { _ in [0x0A, 0x00] as [UInt8] })
            #expect(series.status == 413)
            #expect(series.message.contains("more than 16384 time series"), "\(series.message)")
            // 20,000 empty labels in one series, and an unknown group the direct reader leaves to swift-protobuf.
            let labels = (0..<20_000).flatMap { _ in [0x0A, 0x00] as [UInt8] }
            var length = UInt64(labels.count)
            var varint: [UInt8] = []
            repeat {
                varint.append(UInt8(length & 0x7F) | (length > 0x7F ? 0x80 : 0))
                length >>= 7
            } while length > 0
            let fallback = await answer([0x0A] + varint + labels + [0x7B, 0x7C])
            #expect(fallback.status == 413)
            #expect(fallback.message.contains("would decode to about"), "\(fallback.message)")
            // The same group in a small request is decoded by swift-protobuf and taken.
            let small = await answer([0x0A, 0x00, 0x7B, 0x7C])
            #expect(small.status == 204, "\(small.message)")
        }
    }

    @Test("with the write queue full and no writer, a request is answered 503 with Retry-After and nothing is kept")
    func backpressure() async throws {
        try await withReceiver(queueCapacity: 10, roomTimeout: .milliseconds(50), running: false) { harness in
            var fill = Prometheus_WriteRequest()
            fill.timeseries = [Self.series([("__name__", "fill")], (0..<10).map { (Double($0), now - 10_000 + Int64($0)) })]
            // Nobody writes, and the queue is already full: the request waits for room, then gives up.
            harness.queue.enqueue((0..<10).map { MetricRow(name: "x", type: .gauge, value: .gauge(Double($0)), labels: nil, timestamp: now, metadata: nil) })
            let answer = try await send(harness, fill)
            #expect(answer.status == 503)
            #expect(answer.retryAfter == 5)
            #expect(harness.statistics.items[.init(path: RemoteWriteReceiver.path, outcome: .notQueued)] == 10)
            #expect(harness.engine.seriesCount == 0)
        }
    }
}

/// The hardening found by a hostile-input review: hash seeding, HELP cut at a character, bounded messages.
@Suite("Remote write against hostile senders")
struct RemoteWriteHostileTests {
    @Test("a HELP text longer than the limit is cut at a character boundary, never past the limit")
    func helpCut() {
        let text = String(repeating: "a", count: 4_095) + "🙂"
        let cut = RemoteWriteFamilies.prefix(text, bytes: 4_096)
        #expect(cut.utf8.count <= 4_096)
        #expect(cut == String(repeating: "a", count: 4_095))
        #expect(RemoteWriteFamilies.prefix("short", bytes: 4_096) == "short")
    }

    @Test("content hashes are seeded per process: the same bytes hash alike within it")
    func seeded() {
        #expect(ContentHash.hash("node_load1") == ContentHash.hash("node_load1"))
        #expect(ContentHash.seed == ContentHash.seed)
    }

    @Test("refusals of many samples of one huge name carry a bounded message each")
    func boundedMessages() async throws {
        let logger = Logger(label: "hostile")
        let queue = MetricsWriteQueue(capacity: 100_000, batchSize: 1_000)
        let engine = MetricsEngine(queue: queue, logger: logger)
        let name = String(repeating: "n", count: 1 << 20) + "_total"
        let batch = MetricBatch((0..<1_000).map { _ in Metric(name: name, value: .counter(-1), timestamp: Date()) })
        let (report, _) = await engine.ingest(batch, policy: IngestPolicy(waitForCommit: false))
        #expect(report.refused.count == 1_000)
        #expect(report.refused.allSatisfy { $0.message.utf8.count < 1_000 })
    }
}
