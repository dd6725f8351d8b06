import Benchmark
import IngestFixture
import StepflowPluginHost

// Host-side cost of taking in one 1,000-sample batch from a C plugin (issue 3: under 50 µs per batch).
//
// - "collect 1000 samples" is the whole in-process path: `PluginInstance.collectMetrics()` → the instance's
//   queue → the plugin's `collect_metrics` → one `emit_metrics` call with 1,000 samples → validation and copying
//   into `[Metric]` → back to the awaiting task.
// - "collect 0 samples" is the same path with an empty batch: the fixed cost of a collection (queue hop,
//   continuation, emitter). The conversion cost of 1,000 samples is the difference between the two.
// - "collect 1000 registered series" is the first path with the plugin's series registered once in `create`
//   (host API 1.1, `register_series`) and only their values handed over, in one `emit_values` call.
// - "take in …" are the same collections on the calling thread: the host's work alone (what the issue targets).
// - The plugin builds its samples once, in `create`, so the plugin side of a collection costs nothing.

let thousand = SharedInstance()
let registered = SharedInstance()
let empty = SharedInstance()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .microseconds,
        warmupIterations: 100,
        maxDuration: .seconds(3),
        maxIterations: 20_000
    )

    // Tolerances for `benchmark baseline check` and `benchmark thresholds check`: 10 % more wall clock time at
    // p90, or more mallocs per collection than the allowance, is a regression.
    for (name, shared, samples, registeredSeries, mallocs) in [
        ("collect 1000 samples (one emit_metrics call)", thousand, 1000, false, 50),
        ("collect 1000 registered series (one emit_values call)", registered, 1000, true, 10),
        ("collect 0 samples (fixed cost of a collection)", empty, 0, false, 10),
    ] {
        Benchmark(
            name,
            configuration: .init(
                thresholds: [
                    .wallClock: .init(relative: [.p90: 10.0]), .mallocCountTotal: .init(absolute: [.p90: mallocs]),
                ],
                setup: { try await shared.start(count: samples, registered: registeredSeries) },
                teardown: { await shared.stop() }
            )
        ) { benchmark async throws in
            let plugin = try shared.instance
            for _ in benchmark.scaledIterations {
                let metrics = try await plugin.collectMetrics()
                precondition(metrics.count == samples, "expected \(samples) samples, got \(metrics.count)")
                blackHole(metrics)
            }
        }
    }

    // The host's side alone: the same collections on the benchmark's thread (`collectMetricsBlocking()`, as the
    // plugin runner calls it), with no queue hop or task wake-up, which on this VM cost more than the work.
    for (name, shared, samples) in [
        ("take in 1000 samples on the calling thread (emit_metrics)", thousand, 1000),
        ("take in 1000 registered series on the calling thread (emit_values)", registered, 1000),
        ("take in 0 samples on the calling thread", empty, 0),
    ] {
        Benchmark(
            name,
            configuration: .init(
                thresholds: [.wallClock: .init(relative: [.p90: 10.0])],
                setup: { try await shared.start(count: samples, registered: name.contains("registered")) },
                teardown: { await shared.stop() }
            )
        ) { benchmark in
            guard let plugin = try shared.instance as? PluginInstance else { fatalError("not an in-process instance") }
            for _ in benchmark.scaledIterations {
                let metrics = try plugin.collectMetricsBlocking()
                precondition(metrics.count == samples, "expected \(samples) samples, got \(metrics.count)")
                blackHole(metrics)
            }
        }
    }
}
