import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Synchronization
import Testing

/// An HTTP receiver on 127.0.0.1 that answers every POST 200 with an empty body (a valid OTLP response) after an
/// optional delay, and keeps each request's path, `Content-Encoding` and body.
final class RecordingReceiver: Sendable {
    struct Request: Sendable {
        var path: String
        var encoding: String?
        var body: [UInt8]
    }

    private let requests = Mutex<[Request]>([])
    private let port = Mutex<Int?>(nil)
    private let delay = Mutex<Duration>(.zero)

    var received: [Request] { requests.withLock { $0 } }

    /// From now on, answer each request after `duration`.
    func answer(after duration: Duration) { delay.withLock { $0 = duration } }

    func waitForPort() async -> Int {
        for _ in 0..<3_000 {
            if let port = port.withLock({ $0 }) { return port }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return -1
    }

    func application(logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.post("**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            self.requests.withLock {
                $0.append(Request(path: request.uri.path, encoding: request.headers[.contentEncoding], body: Array(buffer: body)))
            }
            let wait = self.delay.withLock { $0 }
            if wait > .zero { try? await Task.sleep(for: wait) }
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"])
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
    }
}

/// Issue 17, point 4, continued: the exporter keys no other test sets in YAML. The table of every key and its
/// test is `Tests/StepflowConfigTests/KeyEffectTableTests.swift`.
@Suite("Exporter keys change what the host sends")
struct ExporterKeyEffectTests {
    let logger = Logger(label: "exporter-key-tests")

    /// Whether `needle` occurs in `bytes`.
    static func contains(_ bytes: [UInt8], _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard bytes.count >= pattern.count else { return false }
        return (0...(bytes.count - pattern.count)).contains { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
    }

    @Test("otlp: traces, logs and metrics switch each signal; gzip false sends plain protobuf; timeout and max_backlog_age")
    func otlpKeys() async throws {
        let receiver = RecordingReceiver()
        try await whileServing(receiver.application(logger: logger), logger: logger) {
            let port = await receiver.waitForPort()
            try await withHost("""
                http:
                  port: 0
                plugins: []
                metrics:
                  enable_export: true
                logs:
                  enable_export: true
                  export_interval: 200ms
                tracing:
                  enable_export: true
                scheduler:
                  max_backoff: 200ms
                exporters:
                  otlp:
                    enabled: true
                    endpoint: http://127.0.0.1:\(port)
                    traces: false
                    metrics: false
                    logs: true
                    gzip: false
                    timeout: 500ms
                    max_backlog_age: 1h
                """, logger: logger) { runtime in
                let host = await runtime.boundAddress.waitForPort()
                // traces/metrics false: no job for those signals; logs: one.
                #expect(runtime.scheduler.status(of: "exporter:otlp:logs") != nil)
                #expect(runtime.scheduler.status(of: "exporter:otlp:traces") == nil)
                #expect(runtime.scheduler.status(of: "exporter:otlp:metrics") == nil)
                #expect(await logExportHasRun(host))
                let stale = Date().addingTimeInterval(-7_200).rfc3339
                let posted = try await httpSend(host, "POST", "/api/v1/logs", body: """
                    {"logs": [{"level": "info", "message": "stale-entry", "timestamp": "\(stale)"},
                              {"level": "info", "message": "fresh-entry"}]}
                    """)
                #expect(posted.status == 200, "\(posted.body)")
                // gzip: false: the protobuf arrives plain, so the message is readable in it.
                #expect(await eventually(30) { receiver.received.contains { Self.contains($0.body, "fresh-entry") } })
                let requests = receiver.received
                #expect(requests.allSatisfy { $0.path == "/v1/logs" }, "\(requests.map(\.path))")
                #expect(requests.allSatisfy { $0.encoding == nil }, "\(requests.map(\.encoding))")
                // max_backlog_age 1h: the entry from two hours ago is dropped unsent, and counted.
                #expect(!requests.contains { Self.contains($0.body, "stale-entry") })
                let exposition = try await httpGet(host, "/metrics").body
                #expect(exposition.contains(#"stepflow_export_dropped_total{exporter="otlp",kind="logs"} 1"#), "\(exposition.prefix(400))")

                // timeout 500ms: a receiver answering after 3 s fails the run (the default, 10 s, would wait).
                receiver.answer(after: .seconds(3))
                let failures = runtime.scheduler.status(of: "exporter:otlp:logs")?.failures ?? 0
                _ = try await httpSend(host, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "slow"}]}"#)
                #expect(await eventually(20) { (runtime.scheduler.status(of: "exporter:otlp:logs")?.failures ?? 0) > failures })
                receiver.answer(after: .zero)
            }
        }
    }

    @Test("elasticsearch: api_key is sent as ApiKey; max_backlog_age drops old entries; timeout fails a slow bulk request")
    func elasticsearchKeys() async throws {
        let receiver = ElasticsearchBulkReceiver()
        try await whileServing(receiver.application(logger: logger), logger: logger) {
            let elastic = await receiver.waitForPort()
            try await withHost("""
                http:
                  port: 0
                plugins: []
                logs:
                  enable_export: true
                  export_interval: 200ms
                scheduler:
                  max_backoff: 200ms
                exporters:
                  elasticsearch:
                    enabled: true
                    url: http://127.0.0.1:\(elastic)
                    api_key: "a2V5OnNlY3JldA=="
                    max_backlog_age: 1h
                    timeout: 500ms
                """, logger: logger) { runtime in
                let host = await runtime.boundAddress.waitForPort()
                #expect(await logExportHasRun(host))
                let stale = Date().addingTimeInterval(-7_200).rfc3339
                _ = try await httpSend(host, "POST", "/api/v1/logs", body: """
                    {"logs": [{"level": "info", "message": "stale-entry", "timestamp": "\(stale)"},
                              {"level": "info", "message": "fresh-entry"}]}
                    """)
                #expect(await eventually(30) {
                    receiver.documents(in: "stepflow-logs").values.contains { $0["message"] as? String == "fresh-entry" }
                })
                #expect(!receiver.documents(in: "stepflow-logs").values.contains { $0["message"] as? String == "stale-entry" })
                #expect(receiver.authorizations.allSatisfy { $0 == "ApiKey a2V5OnNlY3JldA==" } && !receiver.authorizations.isEmpty)
                let exposition = try await httpGet(host, "/metrics").body
                #expect(exposition.contains(#"stepflow_export_dropped_total{exporter="elasticsearch",kind="logs"} 1"#))

                receiver.answer(after: .seconds(3))
                let failures = runtime.scheduler.status(of: "exporter:elasticsearch:logs")?.failures ?? 0
                _ = try await httpSend(host, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "slow"}]}"#)
                #expect(await eventually(20) { (runtime.scheduler.status(of: "exporter:elasticsearch:logs")?.failures ?? 0) > failures })
                receiver.answer(after: .zero)
            }
        }
    }
}
