import Benchmark
import CoreMetrics
import Foundation
import Logging
import Prometheus
import StepflowCore
import StepflowMetrics
import StepflowServer
import StepflowStorage

// The metrics hot paths (issue 4):
// - P2: swift-metrics `Counter.increment()` through our backend (`StepflowMetricsFactory`) and through
//   swift-prometheus's `PrometheusMetricsFactory`, in this one binary; reported per increment (1M per iteration).
//   Target: ours no slower, under 50 ns, no allocation.
// - `/metrics` rendered from 10,000 series (100 families of 100 series, 3 labels each; 60 gauge, 20 counter,
//   15 histogram and 5 summary families): the engine's snapshot plus the Prometheus text encoder. Target: < 20 ms.
// - `get_metric` of one of those 10,000 series, answered from memory; reported per call. Target: < 1 µs.

let stepflowFactory = StepflowMetricsFactory()
let prometheusFactory = PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())
let stepflowCounter = Counter(label: "http_requests_total", dimensions: [("route", "/api")], factory: stepflowFactory)
let prometheusCounter = Counter(label: "http_requests_total", dimensions: [("route", "/api")], factory: prometheusFactory)

/// An engine holding 10,000 series.
let tenThousand: MetricsEngine = {
    let engine = MetricsEngine(
        queue: MetricsWriteQueue(capacity: 1 << 20, batchSize: 1000), logger: Logger(label: "bench"))
    var metrics: [Metric] = []
    for family in 0..<100 {
        let name = "bench_family_\(family)"
        for series in 0..<100 {
            let labels = [
                Label("instance", "host-\(series % 10).example.internal:9100"), Label("job", "node"),
                Label("shard", String(series)),
            ]
            let value: MetricValue
            switch family {
            case 0..<60: value = .gauge(Double(series) * 1.5)
            case 60..<80: value = .counter(Double(series * 1000))
            case 80..<95:
                value = .histogram(HistogramValue(
                    sum: 12.5, count: 100,
                    buckets: MetricsEngine.defaultBuckets.enumerated().map { HistogramBucket(upperBound: $1, count: UInt64($0 * 9)) }))
            default:
                value = .summary(SummaryValue(
                    sum: 90, count: 12, quantiles: [Quantile(quantile: 0.5, value: 7), Quantile(quantile: 0.99, value: 15)]))
            }
            metrics.append(Metric(name: name, value: value, labels: labels, metadata: ["help": .string("Family \(family).")]))
        }
    }
    precondition(engine.record(metrics).accepted == 10_000)
    return engine
}()

let lookupLabels = [Label("instance", "host-7.example.internal:9100"), Label("job", "node"), Label("shard", "57")]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 1_000
    )

    Benchmark(
        "P2 Counter.increment() via StepflowMetricsFactory",
        configuration: .init(
            scalingFactor: .mega,
            thresholds: [.wallClock: .init(relative: [.p50: 10.0]), .mallocCountTotal: .init(absolute: [.p90: 0])])
    ) { benchmark in
        for _ in benchmark.scaledIterations { stepflowCounter.increment() }
    }

    Benchmark(
        "P2 Counter.increment() via PrometheusMetricsFactory (swift-prometheus 2.4)",
        configuration: .init(scalingFactor: .mega)
    ) { benchmark in
        for _ in benchmark.scaledIterations { prometheusCounter.increment() }
    }

    Benchmark(
        "/metrics from 10,000 series (snapshot + Prometheus text)",
        configuration: .init(
            timeUnits: .milliseconds, thresholds: [.wallClock: .init(relative: [.p90: 10.0])], setup: { _ = tenThousand })
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(PrometheusTextEncoder.encode(tenThousand.snapshot()))
        }
    }

    Benchmark(
        "get_metric of one of 10,000 series",
        configuration: .init(
            scalingFactor: .kilo, thresholds: [.wallClock: .init(relative: [.p50: 10.0])], setup: { _ = tenThousand })
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try await tenThousand.getMetric("bench_family_42", labels: lookupLabels))
        }
    }
}
