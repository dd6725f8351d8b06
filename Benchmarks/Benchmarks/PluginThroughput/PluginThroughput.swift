import Benchmark
import IngestFixture
import StepflowPluginHost

// Samples per second from one collector emitting 1,000-sample batches, in-process and in a plugin-runner child
// (`isolation: process`), and the fixed cost of one call in each mode (an empty collection).
//
// Each iteration is one collection; `samples_per_second` is computed from that iteration's wall clock time.

let samplesPerSecond = BenchmarkMetric.custom("samples_per_second", polarity: .prefersLarger, useScalingFactor: false)

let oneBatch = SharedInstance()
let tenBatches = SharedInstance()
let isolatedOneBatch = SharedInstance()
let isolatedTenBatches = SharedInstance()
let emptyInProcess = SharedInstance()
let emptyIsolated = SharedInstance()

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

    Benchmark(
        "process: 1 batch of 1000 per collection",
        configuration: .init(
            thresholds: [samplesPerSecond: .init(relative: [.p50: 10.0])],
            setup: { try await isolatedOneBatch.start(count: 1000, batches: 1, isolated: true) },
            teardown: { await isolatedOneBatch.stop() }
        )
    ) { benchmark async throws in
        try await measureThroughput(isolatedOneBatch, samplesPerCollection: 1000, benchmark)
    }

    Benchmark(
        "process: 10 batches of 1000 per collection",
        configuration: .init(
            setup: { try await isolatedTenBatches.start(count: 1000, batches: 10, isolated: true) },
            teardown: { await isolatedTenBatches.stop() }
        )
    ) { benchmark async throws in
        try await measureThroughput(isolatedTenBatches, samplesPerCollection: 10_000, benchmark)
    }

    Benchmark(
        "in-process: empty collection (per-call overhead)",
        configuration: .init(
            setup: { try await emptyInProcess.start(count: 0, batches: 1) },
            teardown: { await emptyInProcess.stop() }
        )
    ) { benchmark async throws in
        try await measureThroughput(emptyInProcess, samplesPerCollection: 0, benchmark)
    }

    Benchmark(
        "process: empty collection (per-call overhead)",
        configuration: .init(
            setup: { try await emptyIsolated.start(count: 0, batches: 1, isolated: true) },
            teardown: { await emptyIsolated.stop() }
        )
    ) { benchmark async throws in
        try await measureThroughput(emptyIsolated, samplesPerCollection: 0, benchmark)
    }
}
