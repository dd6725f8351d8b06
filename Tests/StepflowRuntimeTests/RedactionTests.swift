import Foundation
import Logging
import StepflowTestSupport
import Testing

/// Secrets sent in a log line, a span and a plugin setting appear nowhere the host stores, answers, exports or
/// prints (docs/security.md, "Secrets").
@Suite("Secrets stay secret")
struct RedactionTests {
    static let secrets = ["log-s3cret-1", "field-s3cret-2", "bearer-s3cret-3", "span-s3cret-4", "event-s3cret-5", "plugin-s3cret-6"]

    @Test("a secret in a log message and field, a span attribute and event, and a plugin setting: in none of the outputs")
    func secretsAreRedactedEverywhere() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("monitoring.sqlite")
        let export = directory.file("exported.ndjson")
        let path = try directory.write("config.yaml", """
            storage:
              path: \(database)
            http:
              port: 0
            logs:
              enable_export: true
              export_interval: 1s
              export_file: \(export)
            plugins:
              - name: fs
                path: \(buildProductsDirectory)/libStepflowFilesystemCollector.so
                settings:
                  password: plugin-s3cret-6
            """)
        let host = try HostProcess(configPath: path)
        let port = try await host.waitForPort()
        #expect(await logExportHasRun(port))
        let log = try await httpSend(port, "POST", "/api/v1/logs", body: """
            {"logs": [{"level": "warn", "message": "login user=ana password=log-s3cret-1 via Authorization: Bearer bearer-s3cret-3",
                       "component": "auth", "fields": {"api_key": "field-s3cret-2", "user": "ana"}}]}
            """)
        #expect(log.status == 200, "\(log.body)")
        let traceID = String(repeating: "ab", count: 16)
        let span = try await httpSend(port, "POST", "/api/v1/spans", body: """
            {"spans": [{"trace_id": "\(traceID)", "span_id": "00f067aa0ba902b7", "name": "login",
                        "start_time": "2026-12-03T10:00:00Z", "end_time": "2026-12-03T10:00:01Z",
                        "attributes": {"http.request.header.authorization": "Bearer span-s3cret-4", "http.method": "POST"},
                        "events": [{"name": "retry", "timestamp": "2026-12-03T10:00:00.5Z", "attributes": {"token": "event-s3cret-5"}}]}]}
            """)
        #expect(span.status == 200, "\(span.body)")
        #expect(await eventually { FileManager.default.fileExists(atPath: export) && ((try? String(contentsOfFile: export, encoding: .utf8)) ?? "").contains("login user=ana") })

        var outputs: [(String, String)] = []
        outputs.append(("GET /api/v1/logs", try await httpGet(port, "/api/v1/logs?component=auth").body))
        outputs.append(("GET /api/v1/traces/{id}", try await httpGet(port, "/api/v1/traces/\(traceID)").body))
        outputs.append(("GET /api/v1/plugins", try await httpGet(port, "/api/v1/plugins").body))
        outputs.append(("the export file", (try? String(contentsOfFile: export, encoding: .utf8)) ?? ""))
        let shown = try await runProcess(buildProductsDirectory + "/stepflow-monitor", ["check-config", "--config", path])
        outputs.append(("check-config", shown.output))
        // What was stored is still there, masked.
        #expect(outputs[0].1.contains("password=[REDACTED]"), "\(outputs[0].1)")
        #expect(outputs[1].1.contains("[REDACTED]") && outputs[1].1.contains("http.method"), "\(outputs[1].1)")
        host.process.terminate()
        host.process.waitUntilExit()
        outputs.append(("the host's stderr", host.log.text))
        for file in [database, database + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            outputs.append((file, String(decoding: bytes, as: UTF8.self)))
        }
        for (place, text) in outputs {
            for secret in Self.secrets {
                #expect(!text.contains(secret), "\(secret) found in \(place)")
            }
        }
    }

    @Test("alert labels with a secret key and secrets in expanded annotations are masked before they are stored or sent")
    func alertsAreRedacted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, """
            http:
              port: 0
            alerts:
              rules:
                - name: Leak
                  query: 'leak_probe'
                  condition: {greater_than: 0}
                  for: 0s
                  evaluation_interval: 1s
                  labels: {api_key: "rule-s3cret-7"}
                  annotations: {summary: "session password={{ $labels.session }} seen"}
            plugins: []
            """, logger: Logger(label: "redaction-tests")) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "leak_probe", "type": "gauge", "value": 1, "labels": {"session": "label-value-9"}}]}
                """)
            #expect(posted.status == 200, "\(posted.body)")
            var alerts = ""
            #expect(await eventually {
                alerts = (try? await httpGet(port, "/api/v1/alerts").body) ?? ""
                return alerts.contains("Leak")
            }, "\(alerts)")
            #expect(alerts.contains("session password=[REDACTED] seen"), "\(alerts)")
            #expect(!alerts.contains("rule-s3cret-7"), "\(alerts)")
            #expect(!alerts.contains("password=label-value-9"), "\(alerts)")
        }
    }
}
