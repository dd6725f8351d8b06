import Foundation
import Logging
@testable import StepflowIngest
import StepflowMetrics
import StepflowStorage
import StepflowTestSupport
import StepflowWireFormats
import SwiftProtobuf
import Testing

/// The direct remote-write reader against swift-protobuf's decoder: on every body the direct reader takes, both
/// must make the same batch and the same counts; every body it leaves goes to swift-protobuf.
@Suite("The direct remote-write reader")
struct RemoteWriteReaderTests {
    static func label(_ name: String, _ value: String) -> Prometheus_Label {
        var label = Prometheus_Label()
        label.name = name
        label.value = value
        return label
    }

    static func request(_ random: inout FuzzRandom) -> Prometheus_WriteRequest {
        var request = Prometheus_WriteRequest()
        let names = ["up", "http_requests_total", "latency_seconds_bucket", "latency_seconds_sum", "temp", "", "bad-name"]
        let values = ["a", "b", "", "é", "e\u{301}", "K", "\u{212A}", "10.0.0.1:9100"]
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            var series = Prometheus_TimeSeries()
            var labels: [Prometheus_Label] = []
            if random.chance(0.9) { labels.append(label("__name__", random.pick(names))) }
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                labels.append(label(random.pick(["job", "instance", "le", "__name__", "x"]), random.pick(values)))
            }
            if random.chance(0.05) { labels += (0..<40).map { label("l\($0)", "v") } }
            series.labels = labels
            series.samples = (0..<Int.random(in: 0...4, using: &random)).map { step in
                var sample = Prometheus_Sample()
                sample.value = random.chance(0.1) ? Double(bitPattern: 0x7FF0_0000_0000_0002) : Double(step) * 1.5
                sample.timestamp = random.chance(0.05) ? -1 : 1_796_119_200_000 + Int64(step) * 1_000
                return sample
            }
            if random.chance(0.1) { series.exemplars = [Data([0x0a, 0x00])] }
            if random.chance(0.1) { series.histograms = [Data([0x08, 0x01])] }
            request.timeseries.append(series)
        }
        if random.chance(0.3) {
            var entry = Prometheus_MetricMetadata()
            entry.metricFamilyName = random.pick(["up", "latency_seconds", "temp"])
            entry.type = random.pick([.counter, .gauge, .histogram, .summary, .unknown])
            entry.help = random.pick(["", "Help.", "é"])
            request.metadata = [entry]
        }
        return request
    }

    static func mutate(_ bytes: [UInt8], _ random: inout FuzzRandom) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
            case 2 where !bytes.isEmpty: bytes.remove(at: Int.random(in: 0..<bytes.count, using: &random))
            default: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            }
        }
        return bytes
    }

    /// A batch as text, with strings normalized (NFC): the two readers may keep different ones of two byte
    /// sequences Swift calls equal (the engine, comparing by text, stores the same series either way).
    static func describe(_ converted: RemoteWriteReceiver.Converted) -> [String] {
        converted.batch.map { "\($0)".precomposedStringWithCanonicalMapping } + [
            "stale \(converted.staleMarkers)", "exemplars \(converted.exemplars)",
            "histograms \(converted.nativeHistograms)", "unnamed \(converted.unnamed)", "wide \(converted.tooManyLabels)",
        ]
    }

    @Test("on 20,000 generated and mutated requests, the direct reader agrees with swift-protobuf or leaves the body to it")
    func agreesWithSwiftProtobuf() throws {
        let directory = Scratch.root + "reader-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "reader-test")
        let engine = MetricsEngine(queue: MetricsWriteQueue(capacity: 1_000, batchSize: 100), logger: logger)
        let receiver = RemoteWriteReceiver(
            engine: engine, policy: .default, maxDecompressedBytes: 1 << 20, maxSamples: 100_000,
            statistics: IngestStatistics(), logger: logger)
        var random = FuzzRandom(seed: fuzzSeed(default: 0x5EED_0162))
        var taken = 0
        for round in 0..<20_000 {
            var bytes = try Self.request(&random).serializedBytes() as [UInt8]
            if round % 2 == 1 { bytes = Self.mutate(bytes, &random) }
            let fast: RemoteWriteReceiver.Converted?? = bytes.withUnsafeBufferPointer { buffer in
                let reader = RemoteWriteReader(buffer)
                guard let layout = reader.layout() else { return .none }
                return .some(receiver.convert(layout, reader: reader))
            }
            guard case .some(let converted?) = fast else { continue }
            taken += 1
            switch RemoteWriteReceiver.decode(bytes) {
            case .failure(let answer):
                Issue.record("the direct reader took a body swift-protobuf refuses (\(answer.message)): \(bytes)")
            case .success(let request):
                #expect(Self.describe(converted) == Self.describe(receiver.convert(request)), "\(bytes)")
            }
        }
        #expect(taken > 10_000, "\(taken) taken")
    }
}
