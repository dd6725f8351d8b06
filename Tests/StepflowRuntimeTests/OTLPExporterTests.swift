import Foundation
import Logging
import StepflowCore
import StepflowExport
import StepflowTestSupport
import Testing

/// Issue 17, point 3: a running host exports spans, log records and samples with OTLP/HTTP to a receiver that
/// decodes them with the official `opentelemetry-proto` package from PyPI; every field is compared with what the
/// host stored. The receiver also answers 503 with `Retry-After`, which the exporter honours, and reports a
/// partial success, which is counted.
@Suite("The OTLP exporter", .serialized)
struct OTLPExporterTests {
    let logger = Logger(label: "otlp-exporter-tests")

    /// An OTLP/HTTP receiver: decodes each request with opentelemetry-proto, appends it (as JSON, with the request
    /// headers) to `<dir>/<signal>.ndjson`, and answers the service's response. `POST /control?fail=N` makes the
    /// next N requests a 503 with `Retry-After: 1`; a span named `reject-me` is answered with a partial success.
    static let receiver = #"""
        import gzip, json, signal, sys, threading
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
        from google.protobuf.json_format import MessageToDict
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as ls
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as ms

        # The test process blocks and ignores SIGTERM (its signal handling), and a child inherits both: undo them.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
        port, out = int(sys.argv[1]), sys.argv[2]
        state = {"fail": 0, "failed": 0}
        lock = threading.Lock()
        SIGNALS = {"/v1/traces": ("traces", ts.ExportTraceServiceRequest, ts.ExportTraceServiceResponse),
                   "/v1/logs": ("logs", ls.ExportLogsServiceRequest, ls.ExportLogsServiceResponse),
                   "/v1/metrics": ("metrics", ms.ExportMetricsServiceRequest, ms.ExportMetricsServiceResponse)}

        class Handler(BaseHTTPRequestHandler):
            def answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                with lock:
                    self.answer(200, json.dumps(state).encode())

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path.startswith("/control"):
                    with lock:
                        state["fail"] = int(self.path.split("fail=")[1])
                    return self.answer(200)
                if self.path not in SIGNALS:
                    return self.answer(404)
                with lock:
                    if state["fail"] > 0:
                        state["fail"] -= 1
                        state["failed"] += 1
                        return self.answer(503, b"", [("Retry-After", "1")])
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                name, request_type, response_type = SIGNALS[self.path]
                request = request_type()
                request.ParseFromString(body)
                response = response_type()
                if name == "traces":
                    rejected = sum(1 for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans if s.name == "reject-me")
                    if rejected:
                        response.partial_success.rejected_spans = rejected
                        response.partial_success.error_message = "reject-me is refused"
                with lock, open(f"{out}/{name}.ndjson", "a") as f:
                    f.write(json.dumps({"headers": {k.lower(): v for k, v in self.headers.items()},
                                        "request": MessageToDict(request, preserving_proto_field_name=True)}) + "\n")
                self.answer(200, response.SerializeToString())

            def log_message(self, *args):
                pass

        ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#

    /// A Python with opentelemetry-proto: the one the OTLP receiver tests use (its exporter depends on it).
    static var python: String? { OTLPReceiverTests.python }

    /// The requests the receiver decoded for `signal`, each with its headers.
    static func received(_ directory: TemporaryDirectory, _ signal: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: directory.file("\(signal).ndjson"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func hex(_ base64: Any?) -> String? {
        guard let text = base64 as? String, let data = Data(base64Encoded: text) else { return nil }
        return data.map { String(format: "%02x", $0) }.joined()
    }

    /// `[{key, value: {stringValue…}}]` as a dictionary of the values' JSON.
    static func attributes(_ list: Any?) -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for case let pair as [String: Any] in list as? [Any] ?? [] {
            if let key = pair["key"] as? String { out[key] = pair["value"] as? [String: Any] ?? [:] }
        }
        return out
    }

    @Test("Retry-After is read as seconds or an HTTP date, bounded, and anything else is ignored")
    func retryAfter() {
        #expect(ExportResponse.retryAfter(header: "7") == .seconds(7))
        #expect(ExportResponse.retryAfter(header: " 0 ") == .zero)
        #expect(ExportResponse.retryAfter(header: "99999999999999999999") == nil)
        #expect(ExportResponse.retryAfter(header: "-5") == nil)
        #expect(ExportResponse.retryAfter(header: "soon") == nil)
        #expect(ExportResponse.retryAfter(header: nil) == nil)
        #expect(ExportResponse.retryAfter(header: "Fri, 31 Dec 9999 23:59:59 GMT") == .seconds(86_400))
        #expect(ExportResponse.retryAfter(header: "Wed, 21 Oct 2015 07:28:00 GMT") == .zero)
        let soon = Date().addingTimeInterval(120)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let parsed = ExportResponse.retryAfter(header: formatter.string(from: soon))
        #expect(parsed.map { $0 > .seconds(110) && $0 <= .seconds(121) } == true, "\(String(describing: parsed))")
    }

    @Test(
        "spans, log records and samples reach an OTLP receiver with every field, the resource, headers, gzip and retries",
        .enabled(if: ExternalTool.isCI || OTLPExporterTests.python != nil))
    func exportsEverySignal() async throws {
        guard let python = Self.python else {
            Issue.record("no Python with opentelemetry-proto; set STEPFLOW_OTEL_PYTHON (.ci/run makes one)")
            return
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let receiverPort = try freeTCPPort()
        let script = try directory.write("receiver.py", Self.receiver)
        let receiver = try startServer(python, [script, "\(receiverPort)", directory.file("")])
        defer { stopServer(receiver) }
        #expect(await eventually(30) { (try? await httpGet(receiverPort, "/").status) == 200 }, "the receiver starts")

        let yaml = """
            http:
              port: 0
            plugins: []
            metrics:
              enable_export: true
              export_interval: 1s
              flush_interval: 50ms
            logs:
              enable_export: true
              export_interval: 1s
              flush_interval: 50ms
            tracing:
              enable_export: true
              export_interval: 1s
            exporters:
              external_labels: {host: node-9, region: eu}
              otlp:
                enabled: true
                endpoint: http://127.0.0.1:\(receiverPort)
                headers: {Authorization: "Bearer t0k"}
                service_name: edge
                resource_attributes: {deployment.environment: test}
                max_batch_items: 2

            """
        try await withHost(directory, yaml, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            // Each exporter starts at the newest stored row: wait for the first run of all three.
            #expect(try await eventually(30) {
                let health = try jsonObject(try await httpGet(port, "/health").body)
                let components = health["components"] as? [String: Any] ?? [:]
                return ["traces", "logs", "metrics"].allSatisfy { kind in
                    let details = (components["exporter:otlp:\(kind)"] as? [String: Any])?["details"] as? [String: Any]
                    return (details?["runs"] as? Int ?? 0) >= 1
                }
            }, "the exporters' first runs")
            // The next two requests are answered 503 with Retry-After: 1; the exporter waits and sends them again.
            _ = try await httpSend(receiverPort, "POST", "/control?fail=2", body: "")

            let trace = "5b8efff798038103d269b633813fc60c"
            // Within max_backlog_age: a minute ago, to the millisecond.
            let t0 = (Date().unixMilliseconds / 1_000 - 60) * 1_000
            let spans = try await httpSend(port, "POST", "/api/v1/spans", body: """
                {"spans": [
                  {"trace_id": "\(trace)", "span_id": "eee19b7ec3c1b174", "name": "GET /cart",
                   "start_time": \(t0), "end_time": \(t0 + 250), "status": "ok",
                   "attributes": {"span.kind": "server", "http.method": "GET", "http.status_code": 200}},
                  {"trace_id": "\(trace)", "span_id": "eee19b7ec3c1b175", "parent_span_id": "eee19b7ec3c1b174",
                   "name": "SELECT cart", "start_time": \(t0 + 10), "end_time": \(t0 + 110), "status": "error",
                   "attributes": {"span.kind": "client", "error.message": "db down"},
                   "events": [{"name": "retry", "timestamp": \(t0 + 50), "attributes": {"attempt": 2}}]},
                  {"trace_id": "\(trace)", "span_id": "eee19b7ec3c1b176", "parent_span_id": "eee19b7ec3c1b174",
                   "name": "reject-me", "start_time": \(t0 + 10), "end_time": \(t0 + 20)}
                ]}
                """)
            #expect(spans.status == 200, "\(spans.body)")
            let logs = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "warn", "message": "cart lookup slow", "component": "checkout", "module": "cart.swift",
                           "function": "load()", "line": 42, "trace_id": "\(trace)", "span_id": "eee19b7ec3c1b175",
                           "fields": {"ms": 250}}]}
                """)
            #expect(logs.status == 200, "\(logs.body)")
            let metrics = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [
                  {"name": "orders_total", "type": "counter", "value": 3, "labels": {"region": "west"}, "help": "Orders placed."},
                  {"name": "queue_depth", "type": "gauge", "value": 7},
                  {"name": "latency_seconds", "type": "histogram", "sum": 0.9, "count": 2,
                   "buckets": [{"le": 0.25, "count": 1}, {"le": 1, "count": 2}]},
                  {"name": "rpc_seconds", "type": "summary", "sum": 3, "count": 4, "quantiles": [{"quantile": 0.5, "value": 0.7}]}
                ]}
                """)
            #expect(metrics.status == 200 || metrics.status == 202, "\(metrics.body)")

            // Spans: ids, parent, kind, status, events, attributes, against what the host stored.
            func span(_ name: String) -> [String: Any]? {
                for request in Self.received(directory, "traces") {
                    for case let resourceSpans as [String: Any] in (request["request"] as? [String: Any])?["resource_spans"] as? [Any] ?? [] {
                        for case let scope as [String: Any] in resourceSpans["scope_spans"] as? [Any] ?? [] {
                            for case let span as [String: Any] in scope["spans"] as? [Any] ?? [] where span["name"] as? String == name {
                                return span
                            }
                        }
                    }
                }
                return nil
            }
            #expect(await eventually(30) { span("SELECT cart") != nil && span("GET /cart") != nil }, "the spans arrive")
            let stored = try jsonObject(try await httpGet(port, "/api/v1/traces/\(trace)").body)
            let storedSpans = (stored["spans"] as? [[String: Any]]) ?? []
            let select = try #require(span("SELECT cart"))
            #expect(Self.hex(select["trace_id"]) == trace)
            #expect(Self.hex(select["span_id"]) == "eee19b7ec3c1b175")
            #expect(Self.hex(select["parent_span_id"]) == "eee19b7ec3c1b174")
            #expect(select["kind"] as? String == "SPAN_KIND_CLIENT")
            #expect((select["status"] as? [String: Any])?["code"] as? String == "STATUS_CODE_ERROR")
            #expect((select["status"] as? [String: Any])?["message"] as? String == "db down")
            #expect(select["start_time_unix_nano"] as? String == "\((t0 + 10) * 1_000_000)")
            #expect(select["end_time_unix_nano"] as? String == "\((t0 + 110) * 1_000_000)")
            let event = (select["events"] as? [[String: Any]])?.first
            #expect(event?["name"] as? String == "retry")
            #expect(event?["time_unix_nano"] as? String == "\((t0 + 50) * 1_000_000)")
            #expect(Self.attributes(event?["attributes"])["attempt"]?["int_value"] as? String == "2")
            let storedSelect = storedSpans.first { $0["name"] as? String == "SELECT cart" }
            #expect(storedSelect?["parent_span_id"] as? String == "eee19b7ec3c1b174")
            let get = try #require(span("GET /cart"))
            #expect(get["kind"] as? String == "SPAN_KIND_SERVER")
            #expect((get["status"] as? [String: Any])?["code"] as? String == "STATUS_CODE_OK")
            #expect(get["parent_span_id"] == nil)
            let getAttributes = Self.attributes(get["attributes"])
            #expect(getAttributes["http.method"]?["string_value"] as? String == "GET")
            #expect(getAttributes["http.status_code"]?["int_value"] as? String == "200")
            #expect(getAttributes["span.kind"] == nil, "the kind is the span's, not an attribute")

            // max_batch_items: 2: the three spans went in more than one request, none with more than two.
            let spansPerRequest = Self.received(directory, "traces").map { request in
                ((request["request"] as? [String: Any])?["resource_spans"] as? [[String: Any]] ?? []).reduce(0) { total, resource in
                    total + (resource["scope_spans"] as? [[String: Any]] ?? []).reduce(0) { $0 + (($1["spans"] as? [Any])?.count ?? 0) }
                }
            }
            #expect(spansPerRequest.allSatisfy { $0 <= 2 } && spansPerRequest.count >= 2, "\(spansPerRequest)")

            // The resource, headers and gzip of every request.
            let first = try #require(Self.received(directory, "traces").first)
            let resource = Self.attributes(
                (((first["request"] as? [String: Any])?["resource_spans"] as? [[String: Any]])?.first?["resource"] as? [String: Any])?["attributes"])
            #expect(resource["service.name"]?["string_value"] as? String == "edge")
            #expect(resource["host.name"]?["string_value"] as? String == "node-9")
            #expect(resource["region"]?["string_value"] as? String == "eu")
            #expect(resource["deployment.environment"]?["string_value"] as? String == "test")
            let headers = first["headers"] as? [String: String] ?? [:]
            #expect(headers["authorization"] == "Bearer t0k")
            #expect(headers["content-encoding"] == "gzip")
            #expect(headers["content-type"] == "application/x-protobuf")

            // A log record: time, severity, body, trace context, source location, fields; service.name the component.
            func record() -> ([String: Any], [String: [String: Any]])? {
                for request in Self.received(directory, "logs") {
                    for case let resourceLogs as [String: Any] in (request["request"] as? [String: Any])?["resource_logs"] as? [Any] ?? [] {
                        let resource = Self.attributes((resourceLogs["resource"] as? [String: Any])?["attributes"])
                        for case let scope as [String: Any] in resourceLogs["scope_logs"] as? [Any] ?? [] {
                            for case let record as [String: Any] in scope["log_records"] as? [Any] ?? []
                            where (record["body"] as? [String: Any])?["string_value"] as? String == "cart lookup slow" {
                                return (record, resource)
                            }
                        }
                    }
                }
                return nil
            }
            #expect(await eventually(30) { record() != nil }, "the log record arrives")
            let (log, logResource) = try #require(record())
            #expect(log["severity_number"] as? String == "SEVERITY_NUMBER_WARN")
            #expect(log["severity_text"] as? String == "WARN")
            #expect(Self.hex(log["trace_id"]) == trace)
            #expect(Self.hex(log["span_id"]) == "eee19b7ec3c1b175")
            let logAttributes = Self.attributes(log["attributes"])
            #expect(logAttributes["code.function.name"]?["string_value"] as? String == "load()")
            #expect(logAttributes["code.file.path"]?["string_value"] as? String == "cart.swift")
            #expect(logAttributes["code.line.number"]?["int_value"] as? String == "42")
            #expect(logAttributes["ms"]?["int_value"] as? String == "250")
            #expect(logResource["service.name"]?["string_value"] as? String == "checkout")
            let storedLogs = try jsonObject(try await httpGet(port, "/api/v1/logs?trace_id=\(trace)").body)
            let storedLog = (storedLogs["logs"] as? [[String: Any]])?.first
            let storedTime = try #require((storedLog?["timestamp"] as? String).flatMap { Date(rfc3339: $0) })
            #expect(log["time_unix_nano"] as? String == String(storedTime.unixMilliseconds * 1_000_000))

            // Each metric type.
            func metric(_ name: String) -> [String: Any]? {
                for request in Self.received(directory, "metrics") {
                    for case let resourceMetrics as [String: Any] in (request["request"] as? [String: Any])?["resource_metrics"] as? [Any] ?? [] {
                        for case let scope as [String: Any] in resourceMetrics["scope_metrics"] as? [Any] ?? [] {
                            for case let metric as [String: Any] in scope["metrics"] as? [Any] ?? [] where metric["name"] as? String == name {
                                return metric
                            }
                        }
                    }
                }
                return nil
            }
            #expect(await eventually(30) { metric("orders_total") != nil && metric("rpc_seconds") != nil }, "the samples arrive")
            let orders = try #require(metric("orders_total"))
            #expect(orders["description"] as? String == "Orders placed.")
            let sum = try #require(orders["sum"] as? [String: Any])
            #expect(sum["is_monotonic"] as? Bool == true)
            #expect(sum["aggregation_temporality"] as? String == "AGGREGATION_TEMPORALITY_CUMULATIVE")
            let orderPoint = (sum["data_points"] as? [[String: Any]])?.first
            #expect(orderPoint?["as_double"] as? Double == 3)
            #expect(Self.attributes(orderPoint?["attributes"])["region"]?["string_value"] as? String == "west")
            let gauge = (metric("queue_depth")?["gauge"] as? [String: Any])?["data_points"] as? [[String: Any]]
            #expect(gauge?.first?["as_double"] as? Double == 7)
            let histogram = ((metric("latency_seconds")?["histogram"] as? [String: Any])?["data_points"] as? [[String: Any]])?.first
            #expect(histogram?["explicit_bounds"] as? [Double] == [0.25, 1])
            #expect(histogram?["bucket_counts"] as? [String] == ["1", "1", "0"])
            #expect(histogram?["count"] as? String == "2")
            #expect(histogram?["sum"] as? Double == 0.9)
            let summary = ((metric("rpc_seconds")?["summary"] as? [String: Any])?["data_points"] as? [[String: Any]])?.first
            #expect(summary?["count"] as? String == "4")
            #expect((summary?["quantile_values"] as? [[String: Any]])?.first?["value"] as? Double == 0.7)

            // The 503s were waited out and retried; the partial success was counted as refused.
            let state = try jsonObject(try await httpGet(receiverPort, "/").body)
            #expect(state["failed"] as? Int == 2)
            let exposition = try await httpGet(port, "/metrics").body
            func value(_ series: String) -> Double {
                exposition.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
            }
            let retried = ["traces", "logs", "metrics"].map { value(#"stepflow_export_retried_total{exporter="otlp",kind="\#($0)"}"#) }
            #expect(retried.reduce(0, +) >= 2, "\(retried)")
            #expect(await eventually(10) {
                let text = (try? await httpGet(port, "/metrics").body) ?? ""
                return text.contains(#"stepflow_export_failed_total{exporter="otlp",kind="traces"} 1"#)
            }, "the rejected span is counted")
        }
    }
}
