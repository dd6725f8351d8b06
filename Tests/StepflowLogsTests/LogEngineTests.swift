import Foundation
import StepflowCore
import StepflowLogs
import StepflowStorage
import StepflowTestSupport
import Logging
import Testing

/// A log engine on a fresh database, with a writer the test flushes by hand.
struct LogFixture {
    let directory: String
    let database: MonitoringDatabase
    let engine: LogEngine
    let writer: BatchWriter<LogRow, Never>
    let store: LogStore

    init(maxMessageBytes: Int = 65_536, capacity: Int = 100_000) throws {
        directory = Scratch.root + "stepflow-logs-" + UUID().uuidString
        database = try MonitoringDatabase(path: directory + "/l.sqlite")
        store = LogStore(database: database)
        let queue = LogWriteQueue(capacity: capacity, batchSize: 1000)
        engine = LogEngine(
            queue: queue, store: store, source: "tests", maxMessageBytes: maxMessageBytes,
            backpressureTimeout: .milliseconds(100), logger: Logger(label: "test"))
        let store = self.store
        writer = BatchWriter(queue: queue, name: "logs", flushInterval: .seconds(60), logger: Logger(label: "test")) {
            (rows, _) async throws(MonitoringError) in try await store.insert(rows)
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// `count` entries a second apart ending at `end`: levels cycling trace…fatal, components a/b/c.
    func seed(_ count: Int, end: Date = Date()) async throws {
        let entries = (0..<count).map { index in
            LogEntry(
                level: LogLevel.allCases[index % 6], message: "entry \(index) of the run",
                context: LogContext(
                    component: ["a", "b", "c"][index % 3], module: "m\(index % 2)", function: "f()",
                    line: UInt32(index), traceID: index % 10 == 0 ? String(format: "%032x", index + 1) : nil,
                    requestID: "r-\(index % 7)", additionalFields: ["n": .int(Int64(index))]),
                timestamp: end.addingTimeInterval(-Double(count - index)))
        }
        try await engine.logBatch(entries)
        await writer.flush()
    }
}

@Suite("The log engine")
struct LogEngineTests {
    @Test("entries are stored with every field and read back by each filter")
    func filters() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let end = Date()
        try await fixture.seed(60, end: end)
        await #expect(try fixture.store.count() == 60)
        func count(_ query: LogQuery) async throws -> Int { try await fixture.engine.queryLogs(query).count }
        #expect(try await count(LogQuery(limit: 1000)) == 60)
        #expect(try await count(LogQuery(minimumLevel: .error, limit: 1000)) == 20)  // error and fatal
        #expect(try await count(LogQuery(component: "b", limit: 1000)) == 20)
        #expect(try await count(LogQuery(minimumLevel: .warn, component: "a", limit: 1000)) == 10)
        #expect(try await count(LogQuery(module: "m1", limit: 1000)) == 30)
        #expect(try await count(LogQuery(traceID: String(format: "%032x", 21), limit: 1000)) == 1)
        #expect(try await count(LogQuery(requestID: "r-3", limit: 1000)) == 9)
        #expect(try await count(LogQuery(messageContains: "entry 1", limit: 1000)) == 11)  // 1, 10…19
        let recent = try await fixture.engine.queryLogs(LogQuery(since: end.addingTimeInterval(-10.5), limit: 1000))
        #expect(recent.count == 10)
        let entry = try #require(try await fixture.engine.queryLogs(LogQuery(traceID: String(format: "%032x", 21))).first)
        #expect(entry.message == "entry 20 of the run")
        #expect(entry.level == .info)
        #expect(entry.source == "tests")
        #expect(entry.context.line == 20)
        #expect(entry.context.additionalFields["n"] == .int(20))
    }

    @Test("pages follow the cursor without gaps or repeats, newest first or oldest first")
    func pagination() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        try await fixture.seed(25)
        for order in LogOrder.allCases {
            var query = LogQuery(limit: 10, order: order)
            var seen: [String] = []
            var pages = 0
            while true {
                let page = try await fixture.engine.queryPage(query)
                seen += page.entries.map(\.message)
                pages += 1
                guard let next = page.nextCursor else { break }
                query.cursor = try LogCursor(parsing: next.description)
            }
            #expect(pages == 3)
            let expected = (0..<25).map { "entry \($0) of the run" }
            #expect(seen == (order == .oldestFirst ? expected : expected.reversed()))
        }
        #expect(throws: MonitoringError.self) { try LogCursor(parsing: "yesterday") }
    }

    @Test("entries with the same timestamp page by row, filtered or not, without gaps or repeats")
    func paginationWithinOneMillisecond() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let instant = Date(timeIntervalSince1970: 1_796_119_200)
        try await fixture.engine.logBatch((0..<25).map {
            LogEntry(level: $0 % 2 == 0 ? .error : .info, message: "same instant \($0)", timestamp: instant)
        })
        await fixture.writer.flush()
        for (level, count) in [(LogLevel?.none, 25), (.error, 13)] {
            for order in LogOrder.allCases {
                var query = LogQuery(minimumLevel: level, limit: 4, order: order)
                var seen: [String] = []
                while true {
                    let page = try await fixture.engine.queryPage(query)
                    seen += page.entries.map(\.message)
                    guard let next = page.nextCursor else { break }
                    query.cursor = next
                }
                let expected = (0..<25).filter { level == nil || $0 % 2 == 0 }.map { "same instant \($0)" }
                #expect(seen.count == count)
                #expect(seen == (order == .oldestFirst ? expected : expected.reversed()))
            }
        }
    }

    @Test("an entry's NDJSON line is its API object, every field and awkward text surviving a round trip")
    func entryJSON() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let awkward = "tab\tquote\" back\\slash \u{1} bell\u{7} é ∑ 🦊 \r\n"
        let entry = LogEntry(
            id: LogID("id-1"), level: .fatal, message: awkward,
            context: LogContext(
                component: "c\"1", module: "m", function: "f(_:)", line: 7,
                traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", userID: "u", requestID: "r",
                additionalFields: [
                    "flag": true, "count": 3, "ratio": 0.25, "name": "x\ny", "none": .null,
                    "list": .array([1, "two", false]), "nested": .object(["k": "v"]),
                ]),
            timestamp: Date(timeIntervalSince1970: 1_796_119_200.25), source: "app", metadata: ["host": "h1"])
        #expect(LogEntryJSON.text(entry) == LogEntryJSON.object(entry).jsonText)
        try await fixture.engine.logBatch([entry])
        await fixture.writer.flush()
        let stored = try await #require(try fixture.engine.queryPage(LogQuery()).entries.first)
        #expect(stored == entry)
        let line = String(decoding: try await fixture.engine.exportLogs(LogQuery(), format: .ndjson), as: UTF8.self)
        #expect(line == LogEntryJSON.text(entry) + "\n")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(parsed["message"] as? String == awkward)
        #expect(parsed["component"] as? String == "c\"1")
        #expect((parsed["fields"] as? [String: Any])?["flag"] as? Bool == true)
        #expect((parsed["fields"] as? [String: Any])?["name"] as? String == "x\ny")
    }

    @Test("statistics count per level and component over a range, with first, last and rate")
    func stats() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        try await fixture.seed(120)
        let stats = try await fixture.engine.getLogStats(filter: nil)
        #expect(stats.total == 120)
        #expect(stats.byLevel[.info] == 20)
        #expect(stats.byComponent == ["a": 40, "b": 40, "c": 40])
        let first = try #require(stats.first)
        let last = try #require(stats.last)
        #expect(abs(last.timeIntervalSince(first) - 119) < 0.01)
        #expect(abs(stats.ratePerMinute - 120 / (119.0 / 60)) < 0.5)
        let errors = try await fixture.engine.getLogStats(filter: LogFilter(component: "b", minimumLevel: .error))
        #expect(errors.total == 20)
        await #expect(throws: MonitoringError.self) {
            _ = try await fixture.engine.getLogStats(filter: LogFilter(since: Date(), until: Date().addingTimeInterval(-1)))
        }
    }

    @Test("a message past max_log_size is cut on a character boundary with a marker, and counted")
    func truncation() async throws {
        let fixture = try LogFixture(maxMessageBytes: 100)
        defer { fixture.remove() }
        let long = String(repeating: "é", count: 200)  // 400 bytes, two per character
        try await fixture.engine.log(.info, long, context: LogContext(component: "x"))
        await fixture.writer.flush()
        let stored = try #require(try await fixture.engine.queryLogs(LogQuery()).first)
        #expect(stored.message.utf8.count <= 100)
        #expect(stored.message.hasSuffix(" bytes]"))
        #expect(stored.message.hasPrefix("éé"))
        let cut = Int(stored.message.split(separator: "[truncated ").last!.split(separator: " ").first!)!
        #expect(stored.message.utf8.count - " … [truncated \(cut) bytes]".utf8.count + cut == 400)
        #expect(fixture.engine.counts.truncated == 1)
    }

    @Test("malformed trace or span ids and inverted ranges are refused with a reason; the rest is kept")
    func badInput() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let error = await #expect(throws: MonitoringError.self) {
            try await fixture.engine.logBatch([
                LogEntry(level: .info, message: "kept"),
                LogEntry(level: .info, message: "bad trace", context: LogContext(traceID: "xyz")),
                LogEntry(level: .info, message: "bad span", context: LogContext(spanID: "00000000000000000")),
            ])
        }
        #expect(error?.message.contains("2 of 3 log entries refused") == true)
        #expect(error?.message.contains("trace_id 'xyz' is not a W3C trace id") == true)
        await fixture.writer.flush()
        #expect(try await fixture.engine.queryLogs(LogQuery()).map(\.message) == ["kept"])
        #expect(throws: MonitoringError.self) { try LogLevel.parse("loud") }
        await #expect(throws: MonitoringError.self) {
            _ = try await fixture.engine.queryLogs(LogQuery(since: Date(), until: Date().addingTimeInterval(-5)))
        }
        await #expect(throws: MonitoringError.self) { _ = try await fixture.engine.queryLogs(LogQuery(limit: 0)) }
    }

    @Test("a full queue makes log_batch wait, then drop and say so; submit never waits")
    func backpressure() async throws {
        let fixture = try LogFixture(capacity: 5)
        defer { fixture.remove() }
        try await fixture.engine.logBatch((0..<5).map { LogEntry(level: .info, message: "\($0)") })
        let error = await #expect(throws: MonitoringError.self) {
            try await fixture.engine.logBatch([LogEntry(level: .info, message: "late")])
        }
        #expect(error?.code == .queueFull)
        #expect(fixture.engine.submit(LogEntry(level: .info, message: "dropped")) == false)
        #expect(fixture.engine.queueCounts.dropped == 2)
        await fixture.writer.flush()
        await #expect(try fixture.store.count() == 5)
    }

    @Test("cleanup_logs deletes entries older than the retention and keeps the rest")
    func cleanup() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let now = Date()
        try await fixture.engine.logBatch([
            LogEntry(level: .info, message: "old", timestamp: now.addingTimeInterval(-3 * 86_400)),
            LogEntry(level: .info, message: "new", timestamp: now.addingTimeInterval(-3600)),
        ])
        await fixture.writer.flush()
        try await fixture.engine.cleanupLogs(retentionDays: 2)
        #expect(try await fixture.engine.queryLogs(LogQuery()).map(\.message) == ["new"])
    }

    @Test("exports are valid JSON, NDJSON and RFC 4180 CSV, with awkward text intact")
    func exports() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let awkward = "comma, \"quote\"\nand a second line"
        try await fixture.engine.logBatch([
            LogEntry(level: .warn, message: awkward, context: LogContext(component: "c,1")),
            LogEntry(level: .info, message: "plain"),
        ])
        await fixture.writer.flush()
        let query = LogQuery(order: .oldestFirst)
        let json = try await fixture.engine.exportLogs(query, format: .json)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [[String: Any]])
        #expect(array.map { $0["message"] as? String } == [awkward, "plain"])
        let ndjson = String(decoding: try await fixture.engine.exportLogs(query, format: .ndjson), as: UTF8.self)
        let lines = ndjson.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) is [String: Any])
        let csv = String(decoding: try await fixture.engine.exportLogs(query, format: .csv), as: UTF8.self)
        #expect(csv.hasPrefix(LogExportEncoder.csvColumns.joined(separator: ",") + "\r\n"))
        #expect(csv.contains("\"comma, \"\"quote\"\"\nand a second line\""))
        #expect(csv.contains(",\"c,1\","))
        #expect(csv.components(separatedBy: "\r\n").count == 4)  // header, two records, and the empty tail
        let empty = try await fixture.engine.exportLogs(LogQuery(component: "none"), format: .json)
        #expect(String(decoding: empty, as: UTF8.self) == "[]\n")
    }

    @Test("a large export arrives page by page, each page a chunk, in order")
    func streamedExport() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        try await fixture.seed(2_500)
        let chunks = Chunks()
        let written = try await fixture.engine.export(LogQuery(order: .oldestFirst), format: .ndjson) { chunk in
            chunks.append(chunk.count)
        }
        #expect(written == 2_500)
        // Header (empty for NDJSON), three pages of at most 1,000 entries, footer.
        #expect(chunks.sizes.count == 5)
        #expect(chunks.sizes.max()! < 400_000)
    }
}

final class Chunks: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int] = []
    func append(_ size: Int) {
        lock.lock()
        values.append(size)
        lock.unlock()
    }
    var sizes: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}
