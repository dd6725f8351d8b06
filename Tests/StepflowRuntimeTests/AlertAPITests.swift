import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowTestSupport
import Testing

@Suite("The alerting HTTP API and CLI on a running host", .serialized)
struct AlertAPITests {
    let logger = Logger(label: "alert-api-tests")
    let executable = buildProductsDirectory + "/stepflow-monitor"

    /// Runs a host with one declared rule on a free port and hands its port to `body`.
    func withHost(_ body: (Int, MonitoringRuntime, TemporaryDirectory) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            metrics:
              flush_interval: 50ms
            alerts:
              log_notifications: false
              rules:
                - {name: Declared, query: 'health("storage")', condition: {not_contains: healthy}}
            plugins: []
            """)
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            try await body(await runtime.boundAddress.waitForPort(), runtime, directory)
        }
    }

    func delete(_ port: Int, _ path: String) async throws -> Int {
        try await httpSend(port, "DELETE", path, body: "").status
    }

    @Test("rules are created, listed, replaced and deleted; bad ones are 400s saying what is wrong; declared ones are read-only")
    func rules() async throws {
        try await withHost { port, _, _ in
            let created = try await httpSend(port, "POST", "/api/v1/rules", body: """
                {"name": "QueueTooDeep", "query": "queue_depth", "condition": {"greater_than": 100}, "for": "1m",
                 "severity": "critical", "labels": {"team": "ops"}, "annotations": {"summary": "{{ $labels.queue }}"}}
                """)
            #expect(created.status == 201, "\(created.body)")
            let rule = try jsonObject(created.body)
            let id = try #require(rule["id"] as? String)
            #expect(rule["for"] as? Double == 60)
            #expect((rule["condition"] as? [String: Double]) == ["greater_than": 100])

            let listed = try jsonObject(try await httpGet(port, "/api/v1/rules").body)
            let names = (listed["rules"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["Declared", "QueueTooDeep"])
            let declared = try #require((listed["rules"] as? [[String: Any]])?.first)
            #expect((declared["source"] as? String)?.hasSuffix("config.yaml:10") == true)

            let replaced = try await httpSend(port, "PUT", "/api/v1/rules/\(id)", body: """
                {"name": "QueueTooDeep", "query": "queue_depth", "condition": {"greater_than": 500}}
                """)
            #expect(replaced.status == 200)
            #expect((try jsonObject(replaced.body)["condition"] as? [String: Double]) == ["greater_than": 500])

            for (body, message) in [
                (#"{"name": "Bad", "query": "rate(x)", "condition": {"greater_than": 1}}"#, "at column 7"),
                (#"{"name": "Bad", "query": "x", "condition": {"contains": "y"}}"#, "looks for text, but the query gives numbers"),
                (#"{"name": "Bad", "query": "x", "conditon": {"less_than": 1}}"#, "(did you mean"),
                (#"{"name": "QueueTooDeep", "query": "x", "condition": {"less_than": 1}}"#, "already exists"),
                (#"{"name": "Bad", "query": "x", "condition": {"less_than": 1}, "for": "soon"}"#, "expected a duration"),
                // Durations that would overflow milliseconds are refused, not trapped on.
                (#"{"name": "Bad", "query": "rate(x[99999999999w])", "condition": {"less_than": 1}}"#, "may be at most 10 years"),
                (#"{"name": "Bad", "query": "rate(x[99999999999999999999s])", "condition": {"less_than": 1}}"#, "may be at most 10 years"),
                (#"{"name": "Bad", "query": "x", "condition": {"less_than": 1}, "for": 1e300}"#, "from 0 to 100 years"),
                (#"{"name": "Bad", "query": "x", "condition": {"less_than": 1}, "for": 9223372036854775807}"#, "from 0 to 100 years"),
                (#"{"name": "Bad", "query": "x", "condition": {"less_than": 1}, "for": "inf"}"#, "from 0 to 100 years"),
                (#"{"name": "Bad", "query": "x", "condition": {"less_than": 1}, "for": "50y"}"#, "expected a duration"),
                (#"{"name": "Bad", "query": "x", "condition": {"less_than": 1}, "keep_firing_for": 400000000}"#, "may be at most 10 years"),
                ("not json", "not valid JSON"),
            ] {
                let refused = try await httpSend(port, "POST", "/api/v1/rules", body: body)
                #expect(refused.status == 400, "\(body)")
                #expect(refused.body.contains(message), "\(refused.body)")
            }
            let declaredID = try #require(declared["id"] as? String)
            let readOnly = try await httpSend(port, "PUT", "/api/v1/rules/\(declaredID)", body: #"{"name": "Declared", "query": "x", "condition": {"less_than": 1}}"#)
            #expect(readOnly.status == 409)
            #expect(readOnly.body.contains("is declared in"))

            #expect(try await delete(port, "/api/v1/rules/\(id)") == 204)
            #expect(try await httpGet(port, "/api/v1/rules/\(id)").status == 404)
            #expect(try await delete(port, "/api/v1/rules/\(id)") == 404)
        }
    }

    @Test("an alert is listed, acknowledged, resolved and found in the history; silences are set and expired")
    func alertsAndSilences() async throws {
        try await withHost { port, _, directory in
            _ = try await httpSend(port, "POST", "/api/v1/rules", body: """
                {"name": "QueueTooDeep", "query": "queue_depth", "condition": {"greater_than": 100}, "for": "0s",
                 "evaluation_interval": "1s"}
                """)
            _ = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "queue_depth", "type": "gauge", "value": 150, "labels": {"queue": "mail"}}]}
                """)
            var alertID = ""
            #expect(await eventually {
                let alerts = (try? jsonObject(try await httpGet(port, "/api/v1/alerts?status=firing").body))?["alerts"] as? [[String: Any]]
                alertID = alerts?.first?["id"] as? String ?? ""
                return !alertID.isEmpty
            })
            let one = try jsonObject(try await httpGet(port, "/api/v1/alerts/\(alertID)").body)
            #expect(one["status"] as? String == "firing")
            #expect(one["value"] as? Double == 150)

            let missingUser = try await httpSend(port, "POST", "/api/v1/alerts/\(alertID)/ack", body: #"{"message": "x"}"#)
            #expect(missingUser.status == 400)
            #expect(missingUser.body.contains("is required: who acknowledges or resolves the alert"))
            let unknown = try await httpSend(port, "POST", "/api/v1/alerts/nope/ack", body: #"{"user": "ana"}"#)
            #expect(unknown.status == 404)

            // The CLI acknowledges through the running host and lists from the database.
            let ack = try await runProcess(executable, [
                "alerts", "ack", alertID, "--user", "ana", "--message", "draining", "--url", "http://127.0.0.1:\(port)",
            ])
            #expect(ack.status == 0, "\(ack.output)")
            #expect(ack.output.contains("alert \(alertID) is acknowledged"))
            let again = try await runProcess(executable, ["alerts", "ack", alertID, "--user", "bo", "--url", "http://127.0.0.1:\(port)"])
            #expect(again.status == 1)
            #expect(again.output.contains("already acknowledged by ana"))
            let list = try await runProcess(executable, ["alerts", "list", "--database", directory.file("monitoring.sqlite")])
            #expect(list.status == 0, "\(list.output)")
            #expect(list.output.contains("QueueTooDeep"))
            #expect(list.output.contains("acknowledged"))
            #expect(list.output.contains("queue=mail"))

            let resolved = try await httpSend(port, "POST", "/api/v1/alerts/\(alertID)/resolve", body: #"{"user": "ana", "message": "fixed"}"#)
            #expect(resolved.status == 200, "\(resolved.body)")
            #expect(try jsonObject(resolved.body)["status"] as? String == "resolved", "\(resolved.body)")
            let history = try jsonObject(try await httpGet(port, "/api/v1/alerts?status=resolved&rule=QueueTooDeep").body)
            #expect((history["alerts"] as? [[String: Any]])?.first?["resolved_by"] as? String == "ana")
            #expect(try await httpGet(port, "/api/v1/alerts?status=loud").status == 400)

            let backwards = try await httpSend(port, "POST", "/api/v1/silences", body: """
                {"matchers": "{alertname=\\"QueueTooDeep\\"}", "starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T09:00:00Z",
                 "created_by": "ana"}
                """)
            #expect(backwards.status == 400)
            #expect(backwards.body.contains("ends"))
            for (body, message) in [
                (#"{"matchers": "{alertname=\"Q\"}", "ends_at": 9223372036854775807, "created_by": "ana"}"#, "1970 to 9999"),
                (#"{"matchers": "{alertname=\"Q\"}", "duration": "1e13h", "created_by": "ana"}"#, "100 years"),
                (#"{"matchers": "{alertname=\"Q\"}", "duration": "20000d", "created_by": "ana"}"#, "duration"),
            ] {
                let refused = try await httpSend(port, "POST", "/api/v1/silences", body: body)
                #expect(refused.status == 400, "\(body): \(refused.body)")
                #expect(refused.body.contains(message), "\(refused.body)")
            }
            let silence = try await httpSend(port, "POST", "/api/v1/silences", body: """
                {"matchers": "{alertname=\\"QueueTooDeep\\", queue=~\\"ma.*\\"}", "duration": "2h", "created_by": "ana", "comment": "migration"}
                """)
            #expect(silence.status == 201, "\(silence.body)")
            let silenceID = try #require(try jsonObject(silence.body)["id"] as? String)
            #expect(try jsonObject(silence.body)["state"] as? String == "active")
            let silences = try jsonObject(try await httpGet(port, "/api/v1/silences").body)
            #expect(silences["count"] as? Int == 1)
            #expect(try await delete(port, "/api/v1/silences/\(silenceID)") == 204)
            #expect(try jsonObject(try await httpGet(port, "/api/v1/silences").body)["count"] as? Int == 0)
            #expect(try await delete(port, "/api/v1/silences/\(silenceID)") == 404)
        }
    }

    @Test("a rule on log messages fires when the log line is written, not an hour later on its interval")
    func logTriggered() async throws {
        try await withHost { port, runtime, _ in
            let created = try await httpSend(port, "POST", "/api/v1/rules", body: """
                {"name": "PaymentTimeouts", "query": "last_log_message({component=\\"billing\\", level>=\\"error\\"}[5m])",
                 "condition": {"contains": "timeout"}, "for": "0s", "evaluation_interval": "1h",
                 "annotations": {"line": "{{ $value }}"}}
                """)
            #expect(created.status == 201, "\(created.body)")
            // Its first evaluation (at the next tick) finds nothing.
            #expect(await eventually { runtime.alerting.engine.telemetry.rules["PaymentTimeouts"]?.evaluations ?? 0 >= 1 })
            #expect(try await runtime.alerting.engine.getActiveAlerts(filter: nil).filter { $0.name == "PaymentTimeouts" }.isEmpty)
            _ = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "error", "message": "gateway timeout after 30s", "component": "billing"}]}
                """)
            #expect(await eventually(10) {
                (try? await runtime.alerting.engine.getActiveAlerts(filter: nil))?.contains { $0.name == "PaymentTimeouts" } == true
            })
            let alert = try #require(try await runtime.alerting.engine.getActiveAlerts(filter: nil).first { $0.name == "PaymentTimeouts" })
            #expect(alert.annotations["line"] == "gateway timeout after 30s")
        }
    }

    @Test("rules check validates a rule file without running, naming the file, line and rule; exit 1 on errors")
    func rulesCheck() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let good = try directory.write("good.yaml", """
            rules:
              - name: DiskAlmostFull
                query: 'max_over_time(disk_used_ratio[10m])'
                condition: {greater_than: 0.9}
                for: 5m
            """)
        let checked = try await runProcess(executable, ["rules", "check", good])
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.output.contains("DiskAlmostFull"))
        #expect(checked.output.contains("1 rule, all valid"))
        let bad = try directory.write("bad.yaml", """
            rules:
              - name: Broken
                query: 'sum(rate(x[5m])'
                condition: {greater_than: 0.9}
            """)
        let refused = try await runProcess(executable, ["rules", "check", bad])
        #expect(refused.status == 1)
        #expect(refused.output.contains("bad.yaml:3"), "\(refused.output)")
        #expect(refused.output.contains("'Broken'"))
        #expect(refused.output.contains("expected ')'"))
    }
}
