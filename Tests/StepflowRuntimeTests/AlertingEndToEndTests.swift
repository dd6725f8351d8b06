import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import Synchronization
import StepflowTestSupport
import Testing

/// An HTTP server on 127.0.0.1 that keeps the JSON bodies POSTed to `/hook`.
final class WebhookReceiver: Sendable {
    private let bodies = Mutex<[Data]>([])
    private let port = Mutex<Int?>(nil)
    private let failures = Mutex(0)

    /// The port it listens on, once it does.
    func waitForPort() async -> Int {
        while true {
            if let port = port.withLock({ $0 }) { return port }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The notifications received, in order: `(event, alert)`.
    var notifications: [(event: String, alert: [String: Any])] {
        bodies.withLock { $0 }.flatMap { data in
            let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            return (body["notifications"] as? [[String: Any]] ?? []).map {
                ($0["event"] as? String ?? "", $0["alert"] as? [String: Any] ?? [:])
            }
        }
    }

    /// Answers the next `count` requests with 503.
    func fail(next count: Int) { failures.withLock { $0 = count } }

    func application(logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let failing = self.failures.withLock { count -> Bool in
                guard count > 0 else { return false }
                count -= 1
                return true
            }
            if failing { return Response(status: .serviceUnavailable) }
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let data = Data(buffer: buffer)
            self.bodies.withLock { $0.append(data) }
            return Response(status: .noContent)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
    }
}

@Suite("Alerting in a running host: rules from YAML, the webhook, a notifier plugin and Alertmanager", .serialized)
struct AlertingEndToEndTests {
    let logger = Logger(label: "alerting-e2e")

    @Test("an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves")
    func endToEnd() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let receiver = WebhookReceiver()
        let hookGroup = ServiceGroup(services: [receiver.application(logger: logger)], logger: logger)
        async let hooking: Void = hookGroup.run()
        defer { Task { await hookGroup.triggerGracefulShutdown() } }
        let hookPort = await receiver.waitForPort()
        receiver.fail(next: 1)  // the first delivery is retried

        // A real Alertmanager 0.25, when installed (CI installs it).
        var alertmanagerPort: Int?
        var alertmanager: Process?
        if let executable = ExternalTool.path("alertmanager")
            ?? ExternalTool.require("prometheus-alertmanager", package: "prometheus-alertmanager")
        {
            let port = try freeTCPPort()
            let config = try directory.write("alertmanager.yml", """
                route: {receiver: nowhere, group_wait: 1s}
                receivers: [{name: nowhere}]
                """)
            alertmanager = try startServer(executable, [
                "--config.file=\(config)", "--storage.path=\(directory.file("am"))",
                "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
            ])
            alertmanagerPort = port
            #expect(await eventually(30) { (try? await httpGet(port, "/-/ready").status) == 200 })
        }
        defer { stopServer(alertmanager) }

        let notifications = directory.file("notifications.ndjson")
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            metrics:
              flush_interval: 50ms
            exporters:
              external_labels: {host: node-7, team: everyone}
            alerts:
              webhook_url: http://127.0.0.1:\(hookPort)/hook
              alertmanager_url: \(alertmanagerPort.map { "http://127.0.0.1:\($0)" } ?? "''")
              notification_timeout: 10s
              rules:
                - name: QueueTooDeep
                  description: a work queue is backing up
                  query: queue_depth
                  condition: {greater_than: 100}
                  for: 0s
                  evaluation_interval: 1s
                  severity: critical
                  labels: {team: ops}
                  annotations:
                    summary: "queue {{ $labels.queue }} holds {{ $value }} jobs"
            plugins:
              - name: notify-file
                path: libStepflowFileNotifier.so
                settings: {path: \(notifications)}
            """)
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger,
            pluginRunner: buildProductsDirectory + "/stepflow-monitor")
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "queue_depth", "type": "gauge", "value": 150, "labels": {"queue": "mail"}},
                             {"name": "queue_depth", "type": "gauge", "value": 3, "labels": {"queue": "sms"}}]}
                """)
            #expect(posted.status == 200)

            #expect(await eventually { receiver.notifications.map(\.event) == ["firing"] })
            let firing = try #require(receiver.notifications.first?.alert)
            #expect(firing["name"] as? String == "QueueTooDeep")
            #expect(firing["status"] as? String == "firing")
            #expect((firing["annotations"] as? [String: String])?["summary"] == "queue mail holds 150 jobs")
            #expect((firing["labels"] as? [String: String]) == ["alertname": "QueueTooDeep", "queue": "mail", "team": "ops"])
            let alertID = try #require(firing["id"] as? String)

            func fileLines() -> [[String: Any]] {
                let text = (try? String(contentsOfFile: notifications, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
            }
            #expect(await eventually { fileLines().count == 1 })
            #expect(fileLines().first?["status"] as? String == "firing")
            #expect(fileLines().first?["alert_id"] as? String == alertID)

            if let alertmanagerPort {
                #expect(await eventually(30) {
                    let body = (try? await httpGet(alertmanagerPort, "/api/v2/alerts").body) ?? ""
                    let alerts = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [[String: Any]] ?? []
                    return alerts.contains {
                        ($0["labels"] as? [String: String])?["alertname"] == "QueueTooDeep"
                            && ($0["labels"] as? [String: String])?["queue"] == "mail"
                            // The external labels are added to what is sent, except those the alert has.
                            && ($0["labels"] as? [String: String])?["host"] == "node-7"
                            && ($0["labels"] as? [String: String])?["team"] == "ops"
                            && ($0["generatorURL"] as? String)?.hasSuffix("/api/v1/alerts/" + alertID) == true
                    }
                })
            }

            try await runtime.alerting.engine.acknowledgeAlert(AlertID(alertID), user: "ana", message: "draining it")
            #expect(await eventually { receiver.notifications.map(\.event) == ["firing", "acknowledged"] })
            #expect(await eventually { fileLines().last?["kind"] as? String == "acknowledgment" })
            #expect(fileLines().last?["user"] as? String == "ana")

            _ = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "queue_depth", "type": "gauge", "value": 12, "labels": {"queue": "mail"}}]}
                """)
            #expect(await eventually { receiver.notifications.map(\.event) == ["firing", "acknowledged", "resolved"] })
            #expect(await eventually { fileLines().last?["status"] as? String == "resolved" })
            #expect(fileLines().count == 3)

            // A channel counts a delivery once the receiver has answered, a moment after the receiver has it.
            #expect(await eventually {
                let text = (try? await httpGet(port, "/metrics").body) ?? ""
                return text.contains(#"stepflow_alert_notifications_total{channel="webhook",result="sent"} 3"#)
                    && text.contains(#"stepflow_alert_notifications_total{channel="plugin:notify-file",result="sent"} 3"#)
            })
            let metrics = try await httpGet(port, "/metrics").body
            #expect(metrics.contains("stepflow_alerts_fired_total 1"))
            #expect(metrics.contains(#"stepflow_alert_notifications_total{channel="webhook",result="sent"} 3"#))
            #expect(metrics.contains(#"stepflow_alert_notification_retries_total{channel="webhook"} 1"#))
            #expect(metrics.contains(#"stepflow_alert_notifications_total{channel="plugin:notify-file",result="sent"} 3"#))
            #expect(metrics.contains(#"stepflow_alert_rule_evaluations_total{rule="QueueTooDeep"}"#))
        }
        await hookGroup.triggerGracefulShutdown()
        try await hooking
    }
}
