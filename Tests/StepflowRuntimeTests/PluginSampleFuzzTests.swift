import Foundation
import Logging
import StepflowCore
import StepflowMetrics
import StepflowPluginHost
import StepflowServer
import StepflowStorage
import StepflowTestSupport
import Testing

/// Issue 11's fuzz suite, plugin surface: a C plugin (Fixtures/fuzz_collector.c) emits random samples through
/// the C ABI — bad names and UTF-8, NULL pointers with lengths, unknown types, non-finite values, broken buckets
/// and quantiles, extreme timestamps, random registered series and values, misused calls. At least 10,000 samples
/// go through the host's checks, in process and in a runner, then into the metrics engine and the `/metrics`
/// encoder. Nothing may trap; every refusal is counted.
@Suite("Fuzzing plugin samples through the C ABI", .serialized)
struct PluginSampleFuzzTests {
    static func build() throws -> PluginLibrary {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz_collector.c").path
        let output = Scratch.root + "libfuzz-\(UUID().uuidString).so"
        try compileCPlugin(source, to: output)
        return try PluginLibrary.load(path: output)
    }

    /// Feeds `batches` of samples to a fresh engine and encodes what it keeps, as `/metrics` would.
    static func ingest(_ batches: [MetricBatch]) -> (accepted: Int, refused: Int, text: String) {
        let engine = MetricsEngine(queue: MetricsWriteQueue(capacity: 1_000_000, batchSize: 1000), logger: Logger(label: "fuzz"))
        var accepted = 0
        var refused = 0
        for batch in batches {
            let report = engine.record(batch)
            accepted += report.accepted
            refused += report.refused.count
        }
        return (accepted, refused, PrometheusTextEncoder.encode(engine.snapshot()))
    }

    @Test("in process: 50 collections of random samples are checked, refused one by one, and never trap")
    func inProcess() async throws {
        let library = try Self.build()
        let seed = fuzzSeed(default: 0x5EED_0014)
        let plugin = try await PluginInstance(library: library, settings: ["seed": .string("\(seed)")])
        var batches: [MetricBatch] = []
        var failures = 0
        for _ in 0..<50 {
            do {
                batches.append(try await plugin.collectMetrics())
            } catch {
                failures += 1
                #expect(!error.message.isEmpty)
            }
        }
        await plugin.shutdown()
        let refusedByHost = plugin.refusedSamples.values.reduce(0, +)
        let emitted = batches.map(\.count).reduce(0, +)
        #expect(emitted + Int(refusedByHost) >= 10_000, "seed \(seed): \(emitted) kept, \(refusedByHost) refused")
        #expect(refusedByHost > 1000 && emitted > 100, "seed \(seed): \(plugin.refusedSamples)")
        let engine = Self.ingest(batches)
        #expect(engine.accepted > 0 && !engine.text.isEmpty, "seed \(seed)")
        #expect(failures > 0, "the plugin's own failures (set_error) are reported as such")
    }

    @Test("isolation: process: the runner checks and relays the same random samples without trapping")
    func inRunner() async throws {
        let library = try Self.build()
        let seed = fuzzSeed(default: 0x5EED_0015)
        let plugin = try await IsolatedPluginInstance(
            info: library.info, settings: ["seed": .string("\(seed)")],
            runnerExecutable: buildProductsDirectory + "/stepflow-monitor")
        var batches: [MetricBatch] = []
        for _ in 0..<20 {
            if let batch = try? await plugin.collectMetrics() { batches.append(batch) }
        }
        await plugin.shutdown()
        #expect(batches.map(\.count).reduce(0, +) > 0, "seed \(seed)")
        let engine = Self.ingest(batches)
        #expect(engine.accepted > 0, "seed \(seed)")
    }
}
