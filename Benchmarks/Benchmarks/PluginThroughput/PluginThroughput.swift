import Benchmark
import IngestFixture
import StepflowPluginHost

// Samples per second from one collector emitting 1,000-sample batches, in-process and in a plugin-runner child
// (`isolation: process`), through `emit_metrics` and through `emit_values` of series registered once, and the
// fixed cost of one call in each mode (an empty collection).
//
// Each iteration is one collection; `samples_per_second` is computed from that iteration's wall clock time.

let samplesPerSecond = BenchmarkMetric.custom("samples_per_second", polarity: .prefersLarger, useScalingFactor: false)

/// Collects once per iteration and records the samples per second of that collection.
@Sendable func measureThroughput(_ shared: SharedInstance, samplesPerCollection: Int, _ benchmark: Benchmark) async throws {
    let plugin = try shared.instance
    let clock = ContinuousClock()
    for _ in benchmark.scaledIterations {
        let start = clock.now
        let metrics = try await plugin.collectMetrics()
        let elapsed = clock.now - start
        precondition(metrics.count == samplesPerCollection, "expected \(samplesPerCollection), got \(metrics.count)")
        blackHole(metrics)
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        if samplesPerCollection > 0 {
            benchmark.measurement(samplesPerSecond, Int(Double(samplesPerCollection) * 1e9 / max(nanoseconds, 1)))
        }
    }
}

/// One throughput benchmark: a collector emitting `batches` × `count` samples per collection, in-process or in a
/// runner process. A 10 % drop in samples per second (p50) is a regression.
func throughputBenchmark(_ name: String, count: Int, batches: Int, isolated: Bool, registered: Bool = false) {
    let shared = SharedInstance()
    Benchmark(
        name,
        configuration: .init(
            thresholds: count > 0 ? [samplesPerSecond: .init(relative: [.p50: 10.0])] : [:],
            setup: { try await shared.start(count: count, batches: batches, isolated: isolated, registered: registered) },
            teardown: { await shared.stop() }
        )
    ) { benchmark async throws in
        try await measureThroughput(shared, samplesPerCollection: count * batches, benchmark)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, samplesPerSecond],
        timeUnits: .microseconds,
        warmupIterations: 50,
        maxDuration: .seconds(3),
        maxIterations: 20_000
    )
    for (mode, isolated) in [("in-process", false), ("process", true)] {
        throughputBenchmark("\(mode): 1 batch of 1000 per collection", count: 1000, batches: 1, isolated: isolated)
        throughputBenchmark("\(mode): 10 batches of 1000 per collection", count: 1000, batches: 10, isolated: isolated)
        throughputBenchmark(
            "\(mode): 1 batch of 1000 registered series (emit_values)", count: 1000, batches: 1, isolated: isolated,
            registered: true)
        throughputBenchmark("\(mode): empty collection (per-call overhead)", count: 0, batches: 1, isolated: isolated)
    }
}
