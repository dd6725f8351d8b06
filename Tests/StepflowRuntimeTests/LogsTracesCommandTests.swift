import Foundation
import StepflowCore
import StepflowStorage
import Testing

@Suite("stepflow-monitor logs and traces", .serialized)
struct LogsTracesCommandTests {
    let executable = buildProductsDirectory + "/stepflow-monitor"
    let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    /// A database with 300 log entries over the last five minutes and one trace of three spans.
    func seeded(_ directory: TemporaryDirectory) async throws -> String {
        let path = directory.file("l.sqlite")
        let database = try MonitoringDatabase(path: path)
        let now = Date()
        let levels: [LogLevel] = [.info, .warn, .error]
        var rows: [LogRow] = []
        for index in 0..<300 {
            let context = LogContext(component: index % 2 == 0 ? "api" : "db", traceID: index == 7 ? traceID : nil)
            let entry = LogEntry(
                level: levels[index % 3], message: "message \(index), with a comma", context: context,
                timestamp: now.addingTimeInterval(-300 + Double(index)), source: "svc")
            rows.append(LogRow(entry))
        }
        try await LogStore(database: database).insert(rows)
        let root = try SpanID.parse("00f067aa0ba902b7")
        let spans = [
            Span(spanID: root, traceID: try TraceID.parse(traceID), name: "GET /", startTime: now.addingTimeInterval(-1),
                 endTime: now, status: .ok),
            Span(spanID: try SpanID.parse("00f067aa0ba902b8"), traceID: try TraceID.parse(traceID), parentSpanID: root,
                 name: "query", startTime: now.addingTimeInterval(-0.9), endTime: now.addingTimeInterval(-0.5),
                 metadata: ["error.message": "timeout"], status: .error),
        ]
        try await TraceStore(database: database).insert(spans.map(SpanRow.init))
        return path
    }

    @Test("logs query prints the newest matching entries; logs stats counts them")
    func queryAndStats() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await seeded(directory)
        let query = try await runProcess(
            executable, ["logs", "query", "--database", database, "--level", "error", "--component", "api", "--limit", "3"])
        #expect(query.status == 0, "\(query.output)")
        let lines = query.output.split(separator: "\n").filter { $0.contains(" ERROR ") }
        #expect(lines.count == 3)
        #expect(lines.first?.hasSuffix("[api] message 296, with a comma") == true)
        let byTrace = try await runProcess(executable, ["logs", "query", "--database", database, "--trace-id", traceID])
        #expect(byTrace.output.contains("message 7, with a comma"))
        let stats = try await runProcess(executable, ["logs", "stats", "--database", database, "--since", "10m"])
        #expect(stats.output.contains("entries: 300"))
        #expect(stats.output.contains("error    100") || stats.output.contains("error  100"))
    }

    @Test("logs export writes every entry in the format asked, oldest first, with progress on stderr")
    func export() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await seeded(directory)
        let outPath = directory.file("out.csv")
        let script = "\(executable) logs export --database \(database) --format csv --since 1h > \(outPath) 2> \(directory.file("err.txt"))"
        let result = try await runProcess("/bin/sh", ["-c", script])
        #expect(result.status == 0)
        let csv = try String(contentsOfFile: outPath, encoding: .utf8)
        let records = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(records.count == 301)
        #expect(records[1].contains("\"message 0, with a comma\""))
        let progress = try String(contentsOfFile: directory.file("err.txt"), encoding: .utf8)
        #expect(progress.contains("exported 300 of 300 entries (100%)"))
        #expect(progress.contains("done: 300 entries"))
        let jsonPath = directory.file("errors.json")
        let json = try await runProcess(
            "/bin/sh", ["-c", "\(executable) logs export --database \(database) --format json --level error > \(jsonPath)"])
        #expect(json.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jsonPath))) as? [Any])
        #expect(array.count == 100)
    }

    @Test("traces get prints the tree; traces query lists traces; bad ids and filters are refused")
    func traces() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await seeded(directory)
        let tree = try await runProcess(executable, ["traces", "get", traceID, "--database", database])
        #expect(tree.status == 0, "\(tree.output)")
        let lines = tree.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("trace \(traceID)  2 span(s)") == true)
        #expect(lines.dropFirst().first?.hasPrefix("GET /  ") == true)
        #expect(lines.dropFirst(2).first?.hasPrefix("  query  400 ms  error  error: timeout") == true)
        let listed = try await runProcess(executable, ["traces", "query", "--database", database, "--status", "error"])
        #expect(listed.output.contains(traceID))
        let bad = try await runProcess(executable, ["traces", "get", "nothex", "--database", database])
        #expect(bad.status == 2)
        #expect(bad.output.contains("is not a trace id"))
        let missing = try await runProcess(executable, ["traces", "get", "0af7651916cd43dd8448eb211c80319c", "--database", database])
        #expect(missing.status == 1)
        let level = try await runProcess(executable, ["logs", "query", "--database", database, "--level", "loud"])
        #expect(level.status == 2)
        #expect(level.output.contains("unknown log level 'loud'"))
    }
}
