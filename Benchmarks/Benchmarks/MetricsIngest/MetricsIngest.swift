import Benchmark
import BenchmarkSupport
import Foundation
import Logging
import StepflowCore
import StepflowMetrics
import StepflowStorage
import Synchronization

// P1 (issue 4): persisted samples per second through `record_metrics` batches, against the raw sqlite3 C API
// (`../shared/bench/sqlite_bench.c`) measured in the same run with the same table, indexes, row count and batch size.
//
// - "record_metrics → SQLite": 1,000 batches of 1,000 samples are handed to `MetricsEngine.recordMetrics` (which
//   validates each, updates the series in memory and queues a row, waiting for room when the queue is full); the
//   host's `MetricsWriter` writes them in transactions of 1,000 rows into a fresh database with the real schema
//   (the spec's `monitoring_metrics` with its two indexes, `(name, timestamp)` and `(timestamp)`). Timed from the
//   first call to the last row committed.
// - "sqlite_bench.c reference": the C program, run with `metrics 1000000 1000 1 <tmp> index`: one prepared INSERT,
//   1,000 rows per transaction, the same two indexes. Skipped when ../shared/bench is not there.
//
// The rows are the C program's: 10 metric names, 4 labels (host, region, service, instance; ~17,850 series),
// values `(i % 100000) * 0.731`, timestamps 1 ms apart. Names the C program types histogram or summary are
// recorded as gauges here, since it stores a plain number for them.

let rowsPerSecond = BenchmarkMetric.custom("rows_per_second", polarity: .prefersLarger, useScalingFactor: false)
let rowsPerSecondOn = BenchmarkMetric.custom("rows_per_second_on", polarity: .prefersLarger, useScalingFactor: false)
let rowsPerSecondOff = BenchmarkMetric.custom("rows_per_second_off", polarity: .prefersLarger, useScalingFactor: false)
let onPerOffPermille = BenchmarkMetric.custom("on_per_off_permille", polarity: .prefersLarger, useScalingFactor: false)
/// Iterations of the interleaved benchmark so far: even ones run the profiler's bookkeeping first.
let profilerRuns = Atomic<Int>(0)
let rowCount = 1_000_000
let batchSize = 1_000

let names = [
    "cpu_usage_percent", "memory_used_bytes", "http_requests_total", "http_request_duration_seconds",
    "disk_free_bytes", "net_rx_bytes_total", "net_tx_bytes_total", "load_average_1m", "gc_pause_seconds",
    "queue_depth",
]
let counters: Set<Int> = [2, 5, 6]

/// The samples, built once: the benchmark measures taking them in, not making them.
let batches: [[Metric]] = {
    let base = 1_735_689_600_000.0
    return stride(from: 0, to: rowCount, by: batchSize).map { start in
        (start..<(start + batchSize)).map { i in
            let k = i % 10
            let value = Double(i % 100_000) * 0.731
            return Metric(
                name: names[k], value: counters.contains(k) ? .counter(value) : .gauge(value),
                labels: [
                    Label("host", "node-" + (i % 50 < 10 ? "0" : "") + String(i % 50)),
                    Label("region", "eu-west-" + String(i % 3)),
                    Label("service", "api"),
                    Label("instance", "10.0.\((i / 7) % 255).\(i % 255):9100"),
                ],
                timestamp: Date(timeIntervalSince1970: (base + Double(i)) / 1000))
        }
    }
}()

/// `sqlite_bench.c` compiled once, or why it cannot be.
let reference: Result<String, ReferenceMissing> = sqliteBenchSource().flatMap { source in
    Result { try scratchDirectory() + "/sqlite_bench" }.mapError { ReferenceMissing(description: "\($0)") }
        .flatMap { compileSQLiteProgram(source, to: $0) }
}

/// Takes the million rows in through `recordMetrics` into a fresh database and returns the rows stored per second,
/// timed from the first call to the last row committed. `profiling` keeps the profiler's bookkeeping on this path
/// (the write queue's lag, the series memory estimate), as the host does.
func ingest(profiling: Bool) async throws -> Int {
    let directory = try scratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let logger = Logger(label: "bench")
    let database = try MonitoringDatabase(path: directory + "/ingest.sqlite")
    let queue = MetricsWriteQueue(capacity: 100_000, batchSize: batchSize, tracksLag: profiling)
    var options = MetricsEngineOptions(backpressureTimeout: .seconds(120))
    options.estimatesSeriesMemory = profiling
    let engine = MetricsEngine(queue: queue, logger: logger, options: options)
    let writer = MetricsWriter(
        queue: queue, store: MetricStore(database: database), flushInterval: .milliseconds(20), logger: logger)
    let writing = Task { try await writer.run() }
    let clock = ContinuousClock()
    let start = clock.now
    for batch in batches { try await engine.recordMetrics(batch) }
    while writer.written < UInt64(rowCount) { try await Task.sleep(for: .milliseconds(1)) }
    let elapsed = start.duration(to: clock.now)
    writing.cancel()
    _ = try? await writing.value
    let stored = try await MetricStore(database: database).count()
    precondition(stored == rowCount, "\(rowCount - stored) rows missing")
    return Int(Double(rowCount) / seconds(elapsed))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, rowsPerSecond],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        maxDuration: .seconds(60),
        maxIterations: 5
    )

    Benchmark(
        "P1 record_metrics → SQLite, 1,000,000 rows in batches of 1,000",
        configuration: .init(thresholds: [rowsPerSecond: .init(relative: [.p50: 10.0])], setup: { _ = batches })
    ) { benchmark in
        benchmark.startMeasurement()
        let rate = try await ingest(profiling: true)
        benchmark.stopMeasurement()
        benchmark.measurement(rowsPerSecond, rate)
    }

    // Issue 15, point 6: the profiler's share of P1. The profiler's bookkeeping on this path is a clock reading
    // when the write queue stops being empty and at each commit (its lag) and a size estimate per new series (the
    // profile's memory split); both are switched off in the "off" run. Each iteration runs both, in alternating
    // order, so that the machine's drift falls on both alike; `on_per_off_permille` is 1000 × on ÷ off.
    Benchmark(
        "P1 with the profiler's bookkeeping on and off, interleaved",
        configuration: .init(
            metrics: [.wallClock, rowsPerSecondOn, rowsPerSecondOff, onPerOffPermille], maxDuration: .seconds(300),
            maxIterations: 15, setup: { _ = batches })
    ) { benchmark in
        let onFirst = profilerRuns.add(1, ordering: .relaxed).oldValue % 2 == 0
        var on = 0
        var off = 0
        if onFirst { on = try await ingest(profiling: true) }
        off = try await ingest(profiling: false)
        if !onFirst { on = try await ingest(profiling: true) }
        benchmark.measurement(rowsPerSecondOn, on)
        benchmark.measurement(rowsPerSecondOff, off)
        benchmark.measurement(onPerOffPermille, off > 0 ? on * 1000 / off : 0)
    }

    Benchmark(
        "P1 reference: sqlite_bench.c metrics 1000000 1000 (raw sqlite3 C API, same indexes)",
        configuration: .init(setup: { _ = reference })
    ) { benchmark in
        let binary: String
        switch reference {
        case .success(let path): binary = path
        case .failure(let missing):
            print("sqlite_bench.c reference skipped: \(missing)")
            return
        }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        benchmark.startMeasurement()
        let rate = sqliteBenchRate(binary, ["metrics", String(rowCount), String(batchSize), "1", directory, "index"])
        benchmark.stopMeasurement()
        benchmark.measurement(rowsPerSecond, rate)
    }
}
