import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowStorage
import StepflowTestSupport
import Testing

@Suite("The logs and traces HTTP API, and log-exporter plugins in a running host", .serialized)
struct LogTraceAPITests {
    let logger = Logger(label: "log-trace-api-tests")

    /// Runs a host on a free port with `extra` YAML and hands its port to `body`.
    func withHost(
        logs: String = "", _ extra: String = "", _ body: (Int, MonitoringRuntime, TemporaryDirectory) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            "config.yaml",
            """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            logs:
              flush_interval: 50ms
            \(logs)
            tracing:
              flush_interval: 50ms
              enable_sampling: false
            \(extra)
            """)
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger,
            pluginRunner: buildProductsDirectory + "/stepflow-monitor")
        try await whileRunning(runtime, logger: logger) {
            try await body(await runtime.boundAddress.waitForPort(), runtime, directory)
        }
    }

    @Test("logs posted are queried by filter and cursor, counted, and exported; bad items are refused alone")
    func logs() async throws {
        try await withHost("plugins: []") { port, _, _ in
            let posted = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [
                  {"level": "error", "message": "payment failed", "component": "billing", "request_id": "r-1",
                   "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "fields": {"amount": 12.5}},
                  {"level": "info", "message": "order placed", "component": "orders", "timestamp": "2026-12-01T10:00:00Z"},
                  {"level": "loud", "message": "?"},
                  {"level": "warn", "message": "slow", "trace_id": "nothex"},
                  {"level": "warn", "mesage": "typo"}
                ]}
                """)
            #expect(posted.status == 200, "\(posted.body)")
            let answer = try jsonObject(posted.body)
            #expect(answer["accepted"] as? Int == 2)
            let refused = try #require(answer["refused"] as? [[String: Any]])
            #expect(refused.compactMap { $0["index"] as? Int } == [2, 3, 4])
            #expect((refused[0]["error"] as? String)?.contains("unknown log level \"loud\"") == true)
            #expect((refused[1]["error"] as? String)?.contains("is not a W3C trace id") == true)
            #expect((refused[2]["error"] as? String) == "unknown key \"mesage\" (did you mean \"message\"?)")

            #expect(try await eventually { try jsonObject(try await httpGet(port, "/api/v1/logs").body)["count"] as? Int == 2 })
            let errors = try jsonObject(try await httpGet(port, "/api/v1/logs?level=error&component=billing").body)
            let entry = try #require((errors["logs"] as? [[String: Any]])?.first)
            #expect(entry["message"] as? String == "payment failed")
            #expect((entry["fields"] as? [String: Any])?["amount"] as? Double == 12.5)
            let byTrace = try jsonObject(try await httpGet(port, "/api/v1/logs?trace_id=4bf92f3577b34da6a3ce929d0e0e4736").body)
            #expect(byTrace["count"] as? Int == 1)

            let first = try jsonObject(try await httpGet(port, "/api/v1/logs?limit=1").body)
            let cursor = try #require(first["next_cursor"] as? String)
            let second = try jsonObject(try await httpGet(port, "/api/v1/logs?limit=1&cursor=\(cursor)").body)
            #expect((second["logs"] as? [[String: Any]])?.first?["message"] as? String == "order placed")
            #expect(second["next_cursor"] is NSNull)

            let stats = try jsonObject(try await httpGet(port, "/api/v1/logs/stats").body)
            #expect(stats["total"] as? Int == 2)
            #expect((stats["by_level"] as? [String: Int]) == ["error": 1, "info": 1])

            let csv = try await httpGet(port, "/api/v1/logs/export?format=csv")
            #expect(csv.status == 200)
            #expect(csv.contentType?.hasPrefix("text/csv") == true)
            #expect(csv.body.split(separator: "\r\n").count == 3)
            let ndjson = try await httpGet(port, "/api/v1/logs/export?format=ndjson&level=error")
            #expect(ndjson.body.split(separator: "\n").count == 1)

            for (path, expected) in [
                ("/api/v1/logs?level=loud", "unknown log level 'loud'"),
                ("/api/v1/logs?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "inverted"),
                ("/api/v1/logs?trace_id=xyz", "is not a trace id"),
                ("/api/v1/logs?cursor=soon", "is not a log cursor"),
                ("/api/v1/logs/export?format=xml", "expected json, ndjson or csv"),
            ] {
                let bad = try await httpGet(port, path)
                #expect(bad.status == 400, "\(path)")
                #expect(bad.body.contains(expected), "\(path): \(bad.body)")
            }
        }
    }

    @Test("spans posted become traces: by id as a tree, by operation and duration, with stats")
    func traces() async throws {
        try await withHost("plugins: []") { port, _, _ in
            let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
            let posted = try await httpSend(port, "POST", "/api/v1/spans", body: """
                {"spans": [
                  {"trace_id": "\(trace)", "span_id": "00f067aa0ba902b7", "name": "GET /orders",
                   "start_time": "2026-12-01T10:00:00Z", "end_time": "2026-12-01T10:00:00.300Z"},
                  {"trace_id": "\(trace)", "span_id": "00f067aa0ba902b8", "parent_span_id": "00f067aa0ba902b7",
                   "name": "SELECT orders", "start_time": "2026-12-01T10:00:00.010Z", "end_time": "2026-12-01T10:00:00.250Z",
                   "status": "error", "attributes": {"db.system": "sqlite"},
                   "events": [{"name": "retry", "timestamp": "2026-12-01T10:00:00.100Z"}]},
                  {"trace_id": "\(trace)", "span_id": "00f067aa0ba902b9", "name": "backwards",
                   "start_time": "2026-12-01T10:00:01Z", "end_time": "2026-12-01T10:00:00Z"},
                  {"trace_id": "short", "span_id": "00f067aa0ba902b9", "name": "x", "start_time": 0, "end_time": 1}
                ]}
                """)
            #expect(posted.status == 200, "\(posted.body)")
            let refused = try #require(try jsonObject(posted.body)["refused"] as? [[String: Any]])
            #expect(refused.compactMap { $0["index"] as? Int } == [2, 3])
            #expect((refused[0]["error"] as? String) == "the span ends before it starts")

            #expect(try await eventually { try await httpGet(port, "/api/v1/traces/\(trace)").status == 200 })
            let whole = try jsonObject(try await httpGet(port, "/api/v1/traces/\(trace)").body)
            let spans = try #require(whole["spans"] as? [[String: Any]])
            #expect(spans.compactMap { $0["name"] as? String } == ["GET /orders", "SELECT orders"])
            #expect(spans.compactMap { $0["depth"] as? Int } == [0, 1])
            #expect(whole["duration_ms"] as? Int == 300)
            #expect((spans[1]["events"] as? [[String: Any]])?.first?["name"] as? String == "retry")

            let slow = try jsonObject(try await httpGet(port, "/api/v1/traces?operation=SELECT%20orders&min_duration=200ms").body)
            #expect(slow["count"] as? Int == 1)
            let fast = try jsonObject(try await httpGet(port, "/api/v1/traces?min_duration=1s").body)
            #expect(fast["count"] as? Int == 0)
            let stats = try jsonObject(try await httpGet(port, "/api/v1/traces/stats").body)
            let operations = try #require(stats["operations"] as? [[String: Any]])
            #expect(operations.first { $0["operation"] as? String == "SELECT orders" }?["error_rate"] as? Double == 1)

            #expect(try await httpGet(port, "/api/v1/traces/0af7651916cd43dd8448eb211c80319c").status == 404)
            #expect(try await httpGet(port, "/api/v1/traces/nothex").status == 400)
            #expect(try await httpGet(port, "/api/v1/traces?status=maybe").status == 400)
            #expect(try await httpGet(port, "/api/v1/traces?min_duration=soon").status == 400)
        }
    }

    @Test("a log-exporter plugin receives new entries in order; its byte budget splits the batches")
    func pluginExporter() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let output = directory.file("exported.ndjson")
        try await withHost(logs: "  enable_export: true\n  export_interval: 200ms", """
            plugins:
              - name: ndjson
                path: \(buildProductsDirectory)/libStepflowFileLogExporter.so
                budgets:
                  log_bytes_per_batch: 2000
                settings:
                  path: \(output)
            """) { port, runtime, _ in
            #expect(runtime.plugins.first?.error == nil, "\(runtime.plugins)")
            // Let the exporter take its starting position before anything is written.
            // The exporter's first run stores the position it starts from (the newest entry): wait for it.
            let positions = ExportPositionStore(database: runtime.storage.database)
            #expect(try await eventually { try await positions.position(of: "plugin:ndjson") != nil })
            let entries = (0..<30).map { #"{"level": "info", "message": "line \#($0) \#(String(repeating: "z", count: 100))"}"# }
            let posted = try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": [\#(entries.joined(separator: ","))]}"#)
            #expect(posted.status == 200)
            #expect(await eventually {
                ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").count == 30
            })
            let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
            let messages = try lines.map { line -> String in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return (object["message"] as? String ?? "").components(separatedBy: " ").prefix(2).joined(separator: " ")
            }
            #expect(messages == (0..<30).map { "line \($0)" })
            // The plugin writes the lines before the export job counts its batch: wait for the count.
            var metrics = ""
            #expect(await eventually {
                metrics = (try? await httpGet(port, "/metrics").body) ?? ""
                return metrics.contains("stepflow_log_export_entries_total{exporter=\"plugin:ndjson\"} 30")
            }, "\(metrics)")
            #expect(metrics.contains("stepflow_log_export_deferred_total{exporter=\"plugin:ndjson\"}"))
            #expect(!metrics.contains("stepflow_log_export_deferred_total{exporter=\"plugin:ndjson\"} 0\n"))
        }
    }

    @Test("the host's own swift-log backend and tracer feed its store")
    func embedding() async throws {
        try await withHost("plugins: []") { port, runtime, _ in
            let logger = Logger(label: "embedded") { runtime.logHandler(label: $0) }
            let tracer = runtime.tracer
            tracer.withSpan("embedded work") { _ in logger.warning("inside the span") }
            #expect(try await eventually {
                try jsonObject(try await httpGet(port, "/api/v1/logs?component=embedded").body)["count"] as? Int == 1
            })
            let entry = try #require(
                (try jsonObject(try await httpGet(port, "/api/v1/logs?component=embedded").body)["logs"] as? [[String: Any]])?.first)
            let trace = try #require(entry["trace_id"] as? String)
            #expect(entry["level"] as? String == "warn")
            #expect(try await eventually { try await httpGet(port, "/api/v1/traces/\(trace)").status == 200 })
        }
    }

    @Test("a graceful shutdown writes every accepted log entry and closes open spans as cancelled")
    func shutdownFlushes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Flush intervals far longer than the test: only the shutdown can write these.
        let path = try directory.write(
            "config.yaml",
            """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              enabled: false
            logs:
              flush_interval: 1h
            tracing:
              flush_interval: 1h
              enable_sampling: false
            plugins: []
            """)
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger,
            pluginRunner: buildProductsDirectory + "/stepflow-monitor")
        let (context, finished, open) = try await whileRunning(runtime, logger: logger) {
            try await runtime.logs.engine.logBatch((0..<500).map { LogEntry(level: .info, message: "entry \($0)") })
            let context = runtime.tracing.engine.newContext(operation: "job")
            let finished = runtime.tracing.engine.start("finished step", context: context)
            try runtime.tracing.engine.end(finished, result: .ok)
            return (context, finished, runtime.tracing.engine.start("still running", context: context))
        }

        let database = try MonitoringDatabase(readOnlyPath: directory.file("monitoring.sqlite"))
        await #expect(try LogStore(database: database).count() == 500)
        let trace = try await #require(try TraceStore(database: database).trace(context.traceID))
        #expect(trace.spans.count == 2)
        let closed = try #require(trace.spans.first { $0.spanID == open.spanID })
        #expect(closed.status == .cancelled)
        #expect(closed.endTime != nil)
        #expect(trace.spans.first { $0.spanID == finished.spanID }?.status == .ok)
    }
}
