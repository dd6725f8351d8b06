import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowTestSupport
import StepflowWireFormats
import SwiftProtobuf
import Testing

/// OTLP/HTTP on a running host, fed by the real OpenTelemetry Python SDK (`opentelemetry-sdk` and
/// `opentelemetry-exporter-otlp-proto-http` from PyPI): spans with events, a log record in a span and three kinds
/// of metrics, read back through the host's API and compared field by field (docs/ingest.md).
@Suite("The OTLP receiver of a running host", .serialized)
struct OTLPReceiverTests {
    let logger = Logger(label: "otlp-tests")

    /// A Python that has the OpenTelemetry SDK and its OTLP/HTTP exporter: `$STEPFLOW_OTEL_PYTHON` (CI makes a
    /// virtual environment and sets it), else `python3` when it can import them.
    static let python: String? = pythonImporting("opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, opentelemetry.proto")

    static let script = #"""
        import json, logging, sys
        from opentelemetry import trace, metrics
        from opentelemetry.trace import SpanKind, Status, StatusCode, Link
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
        from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

        base = sys.argv[1]
        resource = Resource.create({"service.name": "checkout", "service.instance.id": "i-1", "deployment.environment": "test"})
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=base + "/v1/traces")))
        tracer = tracer_provider.get_tracer("shop", "1.2")
        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=base + "/v1/logs")))
        log = logging.getLogger("shop.cart")
        log.setLevel(logging.DEBUG)
        log.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=logger_provider))
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=base + "/v1/metrics"), export_interval_millis=3600000)
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        meter = meter_provider.get_meter("shop")

        with tracer.start_as_current_span("GET /cart", kind=SpanKind.SERVER, attributes={"http.method": "GET"}) as parent:
            with tracer.start_as_current_span("SELECT cart", kind=SpanKind.CLIENT, links=[Link(parent.get_span_context(), {"why": "retry"})]) as child:
                child.add_event("cache miss", {"key": "c1", "attempt": 2})
                log.warning("cart lookup slow: %s ms", 250)
                child.set_status(Status(StatusCode.ERROR, "db down"))
        meter.create_counter("orders", description="Orders placed.").add(3, {"region": "eu"})
        histogram = meter.create_histogram("latency", unit="s")
        histogram.record(0.2, {"region": "eu"})
        histogram.record(0.7, {"region": "eu"})
        meter.create_up_down_counter("queue.depth").add(5)
        meter.create_up_down_counter("queue.depth").add(-2)
        meter_provider.force_flush()
        logger_provider.force_flush()
        print(json.dumps({
            "trace_id": format(parent.get_span_context().trace_id, "032x"),
            "parent": format(parent.get_span_context().span_id, "016x"),
            "child": format(child.get_span_context().span_id, "016x"),
        }))
        tracer_provider.shutdown(); logger_provider.shutdown(); meter_provider.shutdown()
        """#

    @Test("OTLP/JSON (hex ids, numbers as strings), gzip, partial success, and refusals answered with a Status")
    func jsonAndRefusals() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, "http:\n  port: 0\nplugins: []\n", logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let traces = #"""
                {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]},
                  "scopeSpans": [{"scope": {"name": "manual"}, "spans": [
                    {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "charge", "kind": 2,
                     "startTimeUnixNano": "1796119200000000000", "endTimeUnixNano": "1796119200500000000",
                     "attributes": [{"key": "amount", "value": {"doubleValue": 12.5}}, {"key": "tries", "value": {"intValue": "3"}}],
                     "status": {"code": 2, "message": "declined"}},
                    {"traceId": "not-hex", "spanId": "eee19b7ec3c1b175", "name": "broken",
                     "startTimeUnixNano": "1796119200000000000", "endTimeUnixNano": "1796119200500000000"}]}]}]}
                """#
            let answer = try await rawRequest(
                port, "POST", "/v1/traces", headers: ["Content-Type": "application/json"], body: traces)
            #expect(answer.status == 200, "\(answer.body)")
            let partial = try jsonObject(answer.body)["partialSuccess"] as? [String: Any]
            #expect(partial?["rejectedSpans"] as? String == "1", "\(answer.body)")
            #expect((partial?["errorMessage"] as? String)?.contains("trace id") == true)
            let trace = try jsonObject(try await httpGet(port, "/api/v1/traces/5b8efff798038103d269b633813fc60c").body)
            let span = (trace["spans"] as? [[String: Any]])?.first
            #expect(span?["span_id"] as? String == "eee19b7ec3c1b174", "\(trace)")
            #expect(span?["status"] as? String == "error")
            #expect(span?["duration_ms"] as? Double == 500)
            let attributes = span?["attributes"] as? [String: Any]
            #expect(attributes?["amount"] as? Double == 12.5)
            #expect(attributes?["tries"] as? Int == 3)
            #expect(attributes?["span.kind"] as? String == "server")
            #expect(attributes?["service.name"] as? String == "billing")

            // A gzip body (JSON logs), read back.
            let logs = #"""
                {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]},
                  "scopeLogs": [{"logRecords": [{"timeUnixNano": "1796119200250000000", "severityNumber": 17,
                    "severityText": "ERROR", "body": {"stringValue": "card declined"},
                    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                    "attributes": [{"key": "code.function.name", "value": {"stringValue": "charge()"}},
                                   {"key": "code.line.number", "value": {"intValue": "42"}}]}]}]}]}
                """#
            let plain = try directory.write("logs.json", logs)
            let zipped = try await runProcess("/bin/sh", ["-c", "gzip -c '\(plain)' > '\(plain).gz'"])
            #expect(zipped.status == 0)
            let gzipBody = try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain + ".gz")))
            let logAnswer = try await offPool {
                try blockingRawRequest(
                    port, "POST", "/v1/logs", headers: ["Content-Type": "application/json", "Content-Encoding": "gzip"],
                    bytes: gzipBody)
            }
            #expect(logAnswer.status == 200, "\(logAnswer.body)")
            let stored = try jsonObject(try await httpGet(port, "/api/v1/logs?trace_id=5b8efff798038103d269b633813fc60c").body)
            let entry = (stored["logs"] as? [[String: Any]])?.first
            #expect(entry?["level"] as? String == "error", "\(stored)")
            #expect(entry?["message"] as? String == "card declined")
            #expect(entry?["function"] as? String == "charge()")
            #expect(entry?["line"] as? Int == 42)
            #expect(entry?["span_id"] as? String == "eee19b7ec3c1b174")

            // Refusals: not protobuf (400), not gzip (400), another content type (415); each says why.
            let garbage = try await offPool {
                try blockingRawRequest(
                    port, "POST", "/v1/metrics", headers: ["Content-Type": "application/x-protobuf"], bytes: [0xFF, 0xFF, 0xFF])
            }
            #expect(garbage.status == 400)
            #expect(garbage.body.contains("ExportMetricsServiceRequest"), "\(garbage.body)")
            let badGzip = try await offPool {
                try blockingRawRequest(
                    port, "POST", "/v1/logs", headers: ["Content-Type": "application/json", "Content-Encoding": "gzip"],
                    bytes: Array("not gzip".utf8))
            }
            #expect(badGzip.status == 400)
            #expect(badGzip.body.contains("gzip"), "\(badGzip.body)")
            let wrongType = try await rawRequest(port, "POST", "/v1/traces", headers: ["Content-Type": "text/plain"], body: "x")
            #expect(wrongType.status == 415)

            // More log records than one request may hold (metrics.max_queue_size, 100,000): 413 before decoding.
            let records: [UInt8] = (0..<100_001 * 2).map { $0 % 2 == 0 ? 0x12 : 0x00 }
            let flood = Self.field(1, Self.field(2, records))
            let refused = try await offPool {
                try blockingRawRequest(port, "POST", "/v1/logs", headers: ["Content-Type": "application/x-protobuf"], bytes: flood)
            }
            #expect(refused.status == 413)
            #expect(refused.body.contains("100001 items"), "\(refused.body)")
        }
    }

    @Test("bodies that would decode to far more than their size are refused with 413 before or after decoding")
    func amplification() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, "http:\n  port: 0\nplugins: []\n", logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            func send(_ path: String, json: Bool, _ bytes: [UInt8]) async throws -> (status: Int, body: String) {
                try await offPool {
                    try blockingRawRequest(
                        port, "POST", path, headers: ["Content-Type": json ? "application/json" : "application/x-protobuf"],
                        bytes: bytes)
                }
            }
            // 3.6 MB of JSON "{}" spans: ~1.2M messages, ~300 MiB decoded; refused before decoding.
            let empties = Array(repeating: "{}", count: 1_200_000).joined(separator: ",")
            let json = try await send(
                "/v1/traces", json: true, Array(#"{"resourceSpans":[{"scopeSpans":[{"spans":[\#(empties)]}]}]}"#.utf8))
            #expect(json.status == 413)
            #expect(json.body.contains("would decode to about"), "\(json.body)")

            // One span with 1.2M empty attributes (2 bytes each on the wire): refused before decoding.
            // resource_spans → scope_spans → spans → attributes (field 9).
            let attributes = Self.field(2, Self.field(2, (0..<1_200_000).flatMap { _ in [0x4A, 0x00] as [UInt8] }))
            let protobuf = try await send("/v1/traces", json: false, Self.field(1, attributes))
            #expect(protobuf.status == 413)
            #expect(protobuf.body.contains("messages"), "\(protobuf.body)")

            // A 64 KiB resource attribute and 5,000 empty log records: 320 MiB once copied onto each; refused after
            // decoding, before conversion.
            var request = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest()
            var resourceLogs = Opentelemetry_Proto_Logs_V1_ResourceLogs()
            var pair = Opentelemetry_Proto_Common_V1_KeyValue()
            pair.key = "blob"
            pair.value.stringValue = String(repeating: "x", count: 65_536)
            resourceLogs.resource.attributes = [pair]
            var scope = Opentelemetry_Proto_Logs_V1_ScopeLogs()
            scope.logRecords = Array(repeating: Opentelemetry_Proto_Logs_V1_LogRecord(), count: 5_000)
            resourceLogs.scopeLogs = [scope]
            request.resourceLogs = [resourceLogs]
            let copied = try await send("/v1/logs", json: false, try request.serializedBytes())
            #expect(copied.status == 413)
            #expect(copied.body.contains("copied onto each of 5000 log records"), "\(copied.body)")

            // Nothing of them was taken: no item of any OTLP path is counted accepted.
            let exposition = try await httpGet(port, "/metrics").body
            let accepted = exposition.split(separator: "\n").filter {
                $0.hasPrefix("stepflow_ingest_items_total{") && $0.contains("/v1/") && $0.contains("\"accepted\"")
                    && !$0.hasSuffix(" 0")
            }
            #expect(accepted.isEmpty, "\(accepted)")
            #expect(exposition.contains("stepflow_ingest_requests_total{code=\"413\""), "the refusals are counted")
        }
    }

    /// A length-delimited protobuf field `number` holding `payload`.
    static func field(_ number: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var length = UInt64(payload.count)
        var varint: [UInt8] = []
        repeat {
            varint.append(UInt8(length & 0x7F) | (length > 0x7F ? 0x80 : 0))
            length >>= 7
        } while length > 0
        return [number << 3 | 2] + varint + payload
    }

    @Test(
        "spans, a log record and metrics from the OpenTelemetry Python SDK are stored with every field mapped",
        .enabled(if: ExternalTool.isCI || OTLPReceiverTests.python != nil))
    func pythonSDK() async throws {
        guard let python = Self.python else {
            Issue.record("no Python with opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http; set STEPFLOW_OTEL_PYTHON (.ci/run makes one)")
            return
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, "http:\n  port: 0\nplugins: []\n", logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let scriptPath = try directory.write("send.py", Self.script)
            let run = try await runProcess(python, [scriptPath, "http://127.0.0.1:\(port)"])
            #expect(run.status == 0, "\(run.output)")
            let line = run.output.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "{}"
            let ids = try jsonObject(line)
            let traceID = try #require(ids["trace_id"] as? String, "\(run.output)")
            let parentID = try #require(ids["parent"] as? String)
            let childID = try #require(ids["child"] as? String)

            // The trace: both spans, the parent link, kinds, status, the event, resource and scope attributes.
            let trace = try jsonObject(try await httpGet(port, "/api/v1/traces/\(traceID)").body)
            let spans = (trace["spans"] as? [[String: Any]]) ?? []
            #expect(spans.count == 2, "\(trace)")
            let parent = spans.first { $0["span_id"] as? String == parentID }
            let child = spans.first { $0["span_id"] as? String == childID }
            #expect(parent?["name"] as? String == "GET /cart")
            #expect(parent?["parent_span_id"] == nil)
            #expect(parent?["status"] as? String == "ok")
            let parentAttributes = parent?["attributes"] as? [String: Any]
            #expect(parentAttributes?["span.kind"] as? String == "server")
            #expect(parentAttributes?["http.method"] as? String == "GET")
            #expect(parentAttributes?["service.name"] as? String == "checkout")
            #expect(parentAttributes?["otel.scope.name"] as? String == "shop")
            #expect(parentAttributes?["otel.scope.version"] as? String == "1.2")
            #expect(child?["name"] as? String == "SELECT cart")
            #expect(child?["parent_span_id"] as? String == parentID)
            #expect(child?["trace_id"] as? String == traceID)
            #expect(child?["status"] as? String == "error")
            let childAttributes = child?["attributes"] as? [String: Any]
            #expect(childAttributes?["span.kind"] as? String == "client")
            #expect(childAttributes?["error.message"] as? String == "db down")
            let links = childAttributes?["links"] as? [[String: Any]]
            #expect(links?.first?["span_id"] as? String == parentID)
            #expect((links?.first?["attributes"] as? [String: Any])?["why"] as? String == "retry")
            let event = (child?["events"] as? [[String: Any]])?.first
            #expect(event?["name"] as? String == "cache miss")
            #expect((event?["attributes"] as? [String: Any])?["key"] as? String == "c1")
            #expect((event?["attributes"] as? [String: Any])?["attempt"] as? Int == 2)

            // The log record, in the child span.
            let logs = try jsonObject(try await httpGet(port, "/api/v1/logs?trace_id=\(traceID)").body)
            let entry = (logs["logs"] as? [[String: Any]])?.first
            #expect(entry?["level"] as? String == "warn", "\(logs)")
            #expect(entry?["message"] as? String == "cart lookup slow: 250 ms")
            #expect(entry?["component"] as? String == "checkout")
            #expect(entry?["span_id"] as? String == childID)
            #expect(entry?["source"] as? String == "otlp")
            #expect((entry?["fields"] as? [String: Any])?["deployment.environment"] as? String == "test")

            // Metrics: a monotonic sum is a counter (_total), a histogram a histogram, a non-monotonic sum a gauge.
            func series(_ selector: String) async throws -> [String: Any]? {
                let encoded = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? selector
                let body = try jsonObject(try await httpGet(port, "/api/v1/metrics?match=\(encoded)").body)
                return (body["series"] as? [[String: Any]])?.first
            }
            let orders = try await series(#"orders_total{job="checkout",instance="i-1",region="eu"}"#)
            #expect(orders?["type"] as? String == "counter", "\(String(describing: orders))")
            #expect(orders?["value"] as? Int == 3)
            #expect(orders?["help"] as? String == "Orders placed.")
            let latency = try await series(#"latency{job="checkout",region="eu"}"#)
            #expect(latency?["type"] as? String == "histogram")
            let histogram = latency?["value"] as? [String: Any]
            #expect(histogram?["count"] as? Int == 2)
            #expect(abs((histogram?["sum"] as? Double ?? 0) - 0.9) < 1e-9)
            let depth = try await series(#"queue_depth{job="checkout"}"#)
            #expect(depth?["type"] as? String == "gauge")
            #expect(depth?["value"] as? Int == 3)
        }
    }

    /// A valid request body of each signal, protobuf and JSON.
    static func validBodies() throws -> [OTLPReceiverTests.Body] {
        var attribute = Opentelemetry_Proto_Common_V1_KeyValue()
        attribute.key = "region"
        attribute.value.stringValue = "eu"
        var resource = Opentelemetry_Proto_Resource_V1_Resource()
        var service = Opentelemetry_Proto_Common_V1_KeyValue()
        service.key = "service.name"
        service.value.stringValue = "fuzz"
        resource.attributes = [service]
        let now = UInt64(Date().timeIntervalSince1970 * 1_000_000_000)

        var span = Opentelemetry_Proto_Trace_V1_Span()
        span.traceID = Data((0..<16).map { UInt8($0 + 1) })
        span.spanID = Data((0..<8).map { UInt8($0 + 1) })
        span.name = "op"
        span.startTimeUnixNano = now - 1_000_000
        span.endTimeUnixNano = now
        span.attributes = [attribute]
        var event = Opentelemetry_Proto_Trace_V1_Span.Event()
        event.name = "e"
        event.timeUnixNano = now
        span.events = [event]
        var traces = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest()
        var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resourceSpans.resource = resource
        var scopeSpans = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scopeSpans.spans = [span]
        resourceSpans.scopeSpans = [scopeSpans]
        traces.resourceSpans = [resourceSpans]

        var record = Opentelemetry_Proto_Logs_V1_LogRecord()
        record.timeUnixNano = now
        record.severityNumber = .warn
        record.body.stringValue = "m"
        record.attributes = [attribute]
        var logs = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest()
        var resourceLogs = Opentelemetry_Proto_Logs_V1_ResourceLogs()
        resourceLogs.resource = resource
        var scopeLogs = Opentelemetry_Proto_Logs_V1_ScopeLogs()
        scopeLogs.logRecords = [record]
        resourceLogs.scopeLogs = [scopeLogs]
        logs.resourceLogs = [resourceLogs]

        var point = Opentelemetry_Proto_Metrics_V1_NumberDataPoint()
        point.timeUnixNano = now
        point.asDouble = 1.5
        point.attributes = [attribute]
        var sum = Opentelemetry_Proto_Metrics_V1_Sum()
        sum.isMonotonic = true
        sum.aggregationTemporality = .cumulative
        sum.dataPoints = [point]
        var metric = Opentelemetry_Proto_Metrics_V1_Metric()
        metric.name = "fuzz.requests"
        metric.sum = sum
        var histogramPoint = Opentelemetry_Proto_Metrics_V1_HistogramDataPoint()
        histogramPoint.timeUnixNano = now
        histogramPoint.count = 3
        histogramPoint.sum = 1.5
        histogramPoint.explicitBounds = [0.5, 1]
        histogramPoint.bucketCounts = [1, 1, 1]
        var histogram = Opentelemetry_Proto_Metrics_V1_Histogram()
        histogram.aggregationTemporality = .cumulative
        histogram.dataPoints = [histogramPoint]
        var latency = Opentelemetry_Proto_Metrics_V1_Metric()
        latency.name = "fuzz.latency"
        latency.histogram = histogram
        var metrics = Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceRequest()
        var resourceMetrics = Opentelemetry_Proto_Metrics_V1_ResourceMetrics()
        resourceMetrics.resource = resource
        var scopeMetrics = Opentelemetry_Proto_Metrics_V1_ScopeMetrics()
        scopeMetrics.metrics = [metric, latency]
        resourceMetrics.scopeMetrics = [scopeMetrics]
        metrics.resourceMetrics = [resourceMetrics]

        func both(_ path: String, _ message: some SwiftProtobuf.Message) throws -> [Body] {
            let json: [UInt8] = try message.jsonUTF8Bytes()
            return [Body(path: path, json: false, bytes: try message.serializedBytes()), Body(path: path, json: true, bytes: json)]
        }
        return try both("/v1/traces", traces) + both("/v1/logs", logs) + both("/v1/metrics", metrics)
    }

    struct Body: Sendable {
        let path: String
        let json: Bool
        let bytes: [UInt8]
    }
}

/// The fuzzers of the ingest paths run in the HTTP fuzz suite, one after another, so that no two of them load the
/// machine at once.
extension HTTPFuzzTests {
    @Test("10,000 mutated OTLP bodies to each signal, protobuf and JSON: no crash, every answer 2xx or a 4xx with a Status")
    func fuzzOTLP() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let seed = fuzzSeed(default: 0x5EED_0163)
        let valid = try OTLPReceiverTests.validBodies()
        try await withHost(directory, Self.ingestFuzzYAML, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            for (offset, signal) in ["/v1/traces", "/v1/logs", "/v1/metrics"].enumerated() {
                let bodies = valid.filter { $0.path == signal }
                let outcome = await Self.fuzz(seed: seed &+ UInt64(offset * 4)) { random in
                    let base = random.pick(bodies)
                    var bytes = base.bytes
                    if random.chance(0.8) {
                        bytes = base.json
                            ? Array(FuzzMutator.mutate(String(decoding: bytes, as: UTF8.self), &random).utf8)
                            : RemoteWriteReceiverHostTests.mutate(bytes, &random)
                    }
                    let type = base.json ? "application/json" : "application/x-protobuf"
                    guard let answer = try? blockingRawRequest(port, "POST", signal, headers: ["Content-Type": type], bytes: bytes) else {
                        return (0, "no answer to \(bytes.count) bytes")
                    }
                    let fine = (200..<300).contains(answer.status) || ((400..<500).contains(answer.status) && !answer.body.isEmpty)
                    return (answer.status, fine ? nil : "\(answer.status) \(answer.body.prefix(200))")
                }
                Self.check(outcome, path: signal, seed: seed, count: 10_000, accepted: 500, refused: 500)
            }
            let live = try await rawRequest(port, "GET", "/health/live")
            #expect(live.status == 200)
        }
    }
}
