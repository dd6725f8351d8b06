import Benchmark
import BenchmarkSupport
import Foundation
import GRDB
import Logging
import StepflowCore
import StepflowLogs
import StepflowStorage
import StepflowTracing
import Synchronization

// Issue 5's benchmarks.
//
// - P3 log ingest: persisted entries/s through `LogEngine.logBatch`, batches of 1,000, into a fresh database with the
//   real schema and every index the queries use, against `../shared/bench/sqlite_bench.c logs … index` run in the same
//   binary with its table and indexes replaced by ours (read from a database this version created), the same row
//   count (200,000), rows per transaction (1,000) and row contents (its ~120-byte messages, ids, function names and
//   context JSON).
// - P4 queries over 1,000,000 stored entries spread over 24 hours: level ≥ warn + component + a 1-hour range, newest
//   100; by trace id (10 entries each); and one whole trace of 50 spans by id (among 2,000 such traces).
// - Export of all 1,000,000 entries as NDJSON, page by page: entries/s and the resident memory it adds.
// - Span start + end through `TraceEngine`, sampled (queued for the writer) and unsampled, per span.

let entriesPerSecond = BenchmarkMetric.custom("entries_per_second", polarity: .prefersLarger, useScalingFactor: false)
let ingestRows = 200_000
let batchSize = 1_000
let sqliteLevels: [LogLevel] = [.debug, .info, .info, .info, .warn, .error]

/// The C program's row `i`, as a `LogEntry`.
func entry(_ i: Int) -> LogEntry {
    let u = UInt64(i)
    let logID = String(format: "%08lx-%04lx-4%03lx-8%03lx-%012lx", (u &* 2_654_435_761) & 0xffff_ffff, u & 0xffff,
                       (u >> 4) & 0xfff, (u >> 8) & 0xfff, u &* 40503)
    let message = "Request \(i) completed: GET /api/v1/metrics/query status=200 duration_ms=\(i % 997) "
        + "bytes=\((i * 31) % 65536) user=u" + String(format: "%04d", i % 9999) + " cache=miss"
    return LogEntry(
        id: LogID(logID), level: sqliteLevels[i % 6], message: message,
        context: LogContext(
            component: "HTTPServer", module: "MonitoringRuntime", function: "handleRequest\(i % 20)(_:)",
            line: UInt32(100 + i % 900), traceID: String(format: "%016lx%016lx", u &* 11_400_714_819_323_198_485, u ^ 0x5bd1_e995),
            // The C program's span id of row 0 is all zeros, which W3C (and the engine) refuse: start from row 1's.
            spanID: String(format: "%016lx", max(u, 1) &* 0x9E37_79B9_7F4A_7C15),
            additionalFields: [
                "request_id": .string("r-\(i)"), "method": "GET", "path": "/api/v1/metrics", "remote": "127.0.0.1",
                "attempt": .int(Int64(i % 3)),
            ]),
        timestamp: Date(timeIntervalSince1970: 1_735_689_600 + Double(i) / 1000), source: "stepflow")
}

let ingestBatches: [[LogEntry]] = stride(from: 0, to: ingestRows, by: batchSize).map { start in
    (start..<(start + batchSize)).map(entry)
}

/// The C reference, built with our `monitoring_logs` table and indexes in place of its own.
let reference: Result<String, ReferenceMissing> = {
    let source: String
    switch sqliteBenchSource() {
    case .success(let path): source = path
    case .failure(let missing): return .failure(missing)
    }
    guard var text = try? String(contentsOfFile: source, encoding: .utf8) else {
        return .failure(ReferenceMissing(description: "cannot read \(source)"))
    }
    do {
        let directory = try scratchDirectory()
        let database = try MonitoringDatabase(path: directory + "/schema.sqlite")
        let (table, indexes) = try database.pool.read { db -> (String, [String]) in
            let table = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'monitoring_logs'") ?? ""
            let indexes = try String.fetchAll(
                db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'monitoring_logs' AND sql IS NOT NULL")
            return (table, indexes)
        }
        func literal(_ sql: String) -> String {
            "\"" + sql.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: " ") + "\""
        }
        for (name, sql) in [("LOGS_DDL", table + ";"), ("LOGS_IDX", indexes.joined(separator: "; ") + ";")] {
            guard let start = text.range(of: "static const char *\(name) ="),
                let end = text[start.upperBound...].range(of: ";\n")
            else { return .failure(ReferenceMissing(description: "\(source) has no \(name) to adjust")) }
            text.replaceSubrange(start.lowerBound..<end.upperBound, with: "static const char *\(name) = \(literal(sql));\n")
        }
        let adjusted = directory + "/sqlite_bench_logs.c"
        try text.write(toFile: adjusted, atomically: true, encoding: .utf8)
        return compileSQLiteProgram(adjusted, to: directory + "/sqlite_bench_logs")
    } catch {
        return .failure(ReferenceMissing(description: "cannot adjust \(source): \(error)"))
    }
}()

/// 1,000,000 entries over 24 hours (5 components, levels as the C program mixes them, a trace id on every
/// tenth entry shared by 10 entries), and 2,000 traces of 50 spans, built once per run.
final class QueryData: Sendable {
    let logs: LogStore
    let traces: TraceStore
    let end: Date
    let sampleTrace: String
    let sampleTraceID: TraceID

    init() {
        do {
            let database = try MonitoringDatabase(path: try scratchDirectory() + "/query.sqlite")
            logs = LogStore(database: database)
            traces = TraceStore(database: database)
            end = Date(timeIntervalSince1970: 1_800_000_000)
            let components = ["api", "db", "cache", "auth", "billing"]
            let start = end.addingTimeInterval(-86_400)
            for batch in stride(from: 0, to: 1_000_000, by: 10_000) {
                var rows: [LogRow] = []
                rows.reserveCapacity(10_000)
                for i in batch..<(batch + 10_000) {
                    var trace: String?
                    if i % 10 == 0 { trace = String(format: "%032lx", (i / 100) + 1) }
                    rows.append(LogRow(LogEntry(
                        level: sqliteLevels[i % 6], message: "request \(i) handled in \(i % 997) ms",
                        context: LogContext(component: components[i % 5], traceID: trace),
                        timestamp: start.addingTimeInterval(Double(i) * 0.0864))))
                }
                let batchRows = rows
                let store = logs
                try awaitResult { try await store.insert(batchRows) }
            }
            sampleTrace = String(format: "%032lx", 4_242)
            var spans: [SpanRow] = []
            var sample = TraceID(hex: "00000000000000000000000000000001")!
            for trace in 0..<2_000 {
                let traceID = TraceID(hex: String(format: "%032lx", 0xabc0000 + trace))!
                if trace == 1_000 { sample = traceID }
                let root = SpanID(hex: String(format: "%016lx", trace * 100 + 1))!
                for index in 0..<50 {
                    let spanID = index == 0 ? root : SpanID(hex: String(format: "%016lx", trace * 100 + 1 + index))!
                    let begin = start.addingTimeInterval(Double(trace) * 40 + Double(index) * 0.01)
                    spans.append(SpanRow(Span(
                        spanID: spanID, traceID: traceID, parentSpanID: index == 0 ? nil : root,
                        name: index == 0 ? "GET /orders" : "step \(index)", startTime: begin,
                        endTime: begin.addingTimeInterval(0.005), metadata: ["n": .int(Int64(index))], status: .ok)))
                }
            }
            let spanRows = spans
            let traceStore = traces
            try awaitResult { try await traceStore.insert(spanRows) }
            sampleTraceID = sample
        } catch {
            fatalError("cannot build the query data: \(error)")
        }
    }
}

let queryData = Mutex<QueryData?>(nil)
func data() -> QueryData {
    queryData.withLock { stored in
        if let stored { return stored }
        let made = QueryData()
        stored = made
        return made
    }
}

/// A trace engine with a running writer, for the span benchmarks.
let spanEngine: (sampled: TraceEngine, unsampled: TraceEngine) = {
    let database = try! MonitoringDatabase(path: try! scratchDirectory() + "/spans.sqlite")
    let store = TraceStore(database: database)
    let queue = SpanWriteQueue(capacity: 1_000_000, batchSize: 1000)
    let writer = BatchWriter(queue: queue, name: "spans", flushInterval: .milliseconds(50), logger: Logger(label: "b")) {
        (rows, _) async throws(MonitoringError) in try await store.insert(rows)
    }
    Task { try await writer.run() }
    func engine(_ rate: Double) -> TraceEngine {
        TraceEngine(
            queue: queue, store: store, sampling: true, samplingRate: rate, maxDuration: .seconds(300),
            maxOpenSpans: 100_000, logger: Logger(label: "b"))
    }
    return (engine(1), engine(0))
}()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal], timeUnits: .milliseconds, warmupIterations: 1,
        maxDuration: .seconds(30), maxIterations: 50)

    Benchmark(
        "P3 log_batch → SQLite, 200,000 entries in batches of 1,000",
        configuration: .init(
            metrics: [.wallClock, entriesPerSecond], maxIterations: 5,
            thresholds: [entriesPerSecond: .init(relative: [.p50: 10.0])], setup: { _ = ingestBatches })
    ) { benchmark in
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Logger(label: "bench")
        let store = LogStore(database: try MonitoringDatabase(path: directory + "/ingest.sqlite"))
        let queue = LogWriteQueue(capacity: 100_000, batchSize: batchSize)
        let engine = LogEngine(
            queue: queue, store: store, source: "stepflow", maxMessageBytes: 65_536, backpressureTimeout: .seconds(120),
            logger: logger)
        let writer = BatchWriter(queue: queue, name: "logs", flushInterval: .milliseconds(20), logger: logger) {
            (rows, _) async throws(MonitoringError) in try await store.insert(rows)
        }
        let writing = Task { try await writer.run() }
        let clock = ContinuousClock()
        let start = clock.now
        benchmark.startMeasurement()
        for batch in ingestBatches { try await engine.logBatch(batch) }
        while writer.written < UInt64(ingestRows) { try await Task.sleep(for: .milliseconds(1)) }
        benchmark.stopMeasurement()
        let elapsed = start.duration(to: clock.now)
        writing.cancel()
        _ = try? await writing.value
        let stored = try await store.count()
        precondition(stored == ingestRows, "\(ingestRows - stored) entries missing")
        benchmark.measurement(entriesPerSecond, Int(Double(ingestRows) / seconds(elapsed)))
    }

    Benchmark(
        "P3 reference: sqlite_bench.c logs 200000 1000, our table and indexes",
        configuration: .init(metrics: [.wallClock, entriesPerSecond], maxIterations: 5, setup: { _ = reference })
    ) { benchmark in
        guard case .success(let binary) = reference else {
            if case .failure(let missing) = reference { print("sqlite_bench.c reference skipped: \(missing)") }
            return
        }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        benchmark.startMeasurement()
        let rate = sqliteBenchRate(binary, ["logs", String(ingestRows), String(batchSize), "1", directory, "index"])
        benchmark.stopMeasurement()
        benchmark.measurement(entriesPerSecond, rate)
    }

    Benchmark(
        "P4 logs: level >= warn + component + 1 h, newest 100, of 1,000,000",
        configuration: .init(timeUnits: .microseconds, thresholds: [.wallClock: .init(relative: [.p50: 10.0])], setup: { _ = data() })
    ) { benchmark in
        let data = data()
        for _ in benchmark.scaledIterations {
            let page = try await data.logs.query(LogQuery(
                minimumLevel: .warn, since: data.end.addingTimeInterval(-3 * 3600), until: data.end.addingTimeInterval(-2 * 3600),
                component: "billing", limit: 100))
            precondition(page.entries.count == 100)
            blackHole(page)
        }
    }

    Benchmark(
        "P4 logs: by trace id, of 1,000,000",
        configuration: .init(timeUnits: .microseconds, thresholds: [.wallClock: .init(relative: [.p50: 10.0])], setup: { _ = data() })
    ) { benchmark in
        let data = data()
        for _ in benchmark.scaledIterations {
            let page = try await data.logs.query(LogQuery(traceID: data.sampleTrace, limit: 100))
            precondition(page.entries.count == 10)
            blackHole(page)
        }
    }

    Benchmark(
        "P4 traces: one whole trace of 50 spans by id",
        configuration: .init(timeUnits: .microseconds, thresholds: [.wallClock: .init(relative: [.p50: 10.0])], setup: { _ = data() })
    ) { benchmark in
        let data = data()
        for _ in benchmark.scaledIterations {
            let trace = try await data.traces.trace(data.sampleTraceID)
            precondition(trace?.spans.count == 50)
            blackHole(trace)
        }
    }

    Benchmark(
        "log export: all 1,000,000 entries as NDJSON",
        configuration: .init(
            metrics: [.wallClock, entriesPerSecond, .peakMemoryResidentDelta], timeUnits: .seconds, maxIterations: 3,
            setup: { _ = data() })
    ) { benchmark in
        let data = data()
        let clock = ContinuousClock()
        let start = clock.now
        var bytes = 0
        var entries = 0
        for try await chunk in try LogExportChunks(store: data.logs, query: LogQuery(), format: .ndjson) {
            bytes += chunk.bytes.count
            entries = chunk.written
        }
        let elapsed = start.duration(to: clock.now)
        precondition(entries == 1_000_000 && bytes > 50_000_000, "exported \(entries) entries, \(bytes) bytes")
        benchmark.measurement(entriesPerSecond, Int(Double(entries) / seconds(elapsed)))
    }

    Benchmark(
        "span start + end, sampled (recorded)",
        configuration: .init(timeUnits: .nanoseconds, scalingFactor: .kilo, setup: { _ = spanEngine })
    ) { benchmark in
        let engine = spanEngine.sampled
        let context = engine.newContext(operation: "bench")
        for _ in benchmark.scaledIterations {
            let span = engine.start("work", context: context)
            try engine.end(span, result: .ok)
        }
    }

    Benchmark(
        "span start + end, unsampled",
        configuration: .init(timeUnits: .nanoseconds, scalingFactor: .mega, setup: { _ = spanEngine })
    ) { benchmark in
        let engine = spanEngine.unsampled
        let context = engine.newContext(operation: "bench")
        for _ in benchmark.scaledIterations {
            let span = engine.start("work", context: context)
            try engine.end(span, result: .ok)
        }
    }
}
