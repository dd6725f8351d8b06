import Benchmark
import IngestFixture
import StepflowPluginHost

// Samples per second from one collector emitting 1,000-sample batches, in-process.
//
// Each iteration is one collection; `samples_per_second` is computed from that iteration's wall clock time.
//
// ── Process isolation ─────────────────────────────────────────────────────────────────────────────────────
// TODO(isolation: process): once `IsolatedPluginInstance` (the `isolation: process` runner) is merged, add
// the same two benchmarks for it here, named "process: …", created from the same `IngestFixture.libraryPath()`,
// so the README can put in-process and process-isolated throughput side by side.
// ──────────────────────────────────────────────────────────────────────────────────────────────────────────

let samplesPerSecond = BenchmarkMetric.custom("samples_per_second", polarity: .prefersLarger, useScalingFactor: false)

let oneBatch = SharedInstance()
let tenBatches = SharedInstance()

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
        benchmark.measurement(samplesPerSecond, Int(Double(samplesPerCollection) * 1e9 / max(nanoseconds, 1)))
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

    Benchmark(
        "in-process: 1 batch of 1000 per collection",
        configuration: .init(
            // A 10 % drop in samples per second (p50) is a regression.
            thresholds: [samplesPerSecond: .init(relative: [.p50: 10.0])],
            setup: { try await oneBatch.start(count: 1000, batches: 1) },
            teardown: { await oneBatch.stop() }
        )
    ) { benchmark async throws in
        try await measureThroughput(oneBatch, samplesPerCollection: 1000, benchmark)
    }

    Benchmark(
        "in-process: 10 batches of 1000 per collection",
        configuration: .init(
            setup: { try await tenBatches.start(count: 1000, batches: 10) },
            teardown: { await tenBatches.stop() }
        )
    ) { benchmark async throws in
        try await measureThroughput(tenBatches, samplesPerCollection: 10_000, benchmark)
    }
}
