import Foundation
import Logging
import ServiceLifecycle
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 17, point 4, continued: the alerting keys no other test sets in YAML for a running host. The table of
/// every key and its test is `Tests/StepflowConfigTests/KeyEffectTableTests.swift`.
@Suite("Alerting keys change what the host evaluates and sends")
struct AlertKeyEffectTests {
    /// The alerts of `rule` in `status`, from the alerts API.
    static func alerts(_ port: Int, rule: String, status: String) async throws -> Int {
        let body = try jsonObject(try await httpGet(port, "/api/v1/alerts?rule=\(rule)&status=\(status)").body)
        return (body["alerts"] as? [[String: Any]])?.count ?? 0
    }

    @Test("evaluation_interval, rule_files, rules[].enabled, rules[].keep_firing_for and log_notifications")
    func ruleKeys() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (logger, records) = CapturingLogHandler.logger()
        let receiver = WebhookReceiver()
        try await whileServing(receiver.application(logger: logger), logger: logger) {
            let hookPort = await receiver.waitForPort()
            _ = try directory.write("more-rules.yaml", """
                rules:
                  - {name: FromFile, query: queue_depth, condition: {greater_than: 100}, for: 0s}
                """)
            try await withHost(directory, """
                http:
                  port: 0
                plugins: []
                metrics:
                  flush_interval: 50ms
                alerts:
                  evaluation_interval: 100ms
                  log_notifications: false
                  webhook_url: http://127.0.0.1:\(hookPort)/hook
                  rule_files: [more-rules.yaml]
                  rules:
                    - {name: Kept, query: queue_depth, condition: {greater_than: 100}, for: 0s, keep_firing_for: 1h}
                    - {name: Plain, query: queue_depth, condition: {greater_than: 100}, for: 0s}
                    - {name: Off, query: queue_depth, condition: {greater_than: 100}, for: 0s, enabled: false}
                """, logger: logger) { (runtime: MonitoringRuntime) async throws in
                let port = await runtime.boundAddress.waitForPort()
                func post(_ value: Int) async throws -> (status: Int, body: String) {
                    try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "queue_depth", "type": "gauge", "value": \#(value)}]}"#)
                }
                #expect(try await post(150).status == 200)
                // rule_files: the file's rule fires beside the inline ones; enabled: false never does.
                #expect(try await eventually(20) {
                    var firing = 0
                    for rule in ["Kept", "Plain", "FromFile"] { firing += try await Self.alerts(port, rule: rule, status: "firing") }
                    return firing == 3
                })
                // evaluation_interval 100ms, for every rule without its own: ten evaluations in seconds (the default
                // is one each 30 s); the disabled rule is not evaluated at all.
                let telemetry = { runtime.alerting.engine.telemetry.rules }
                #expect(await eventually(20) { (telemetry()["Plain"]?.evaluations ?? 0) >= 10 })
                #expect((telemetry()["Off"]?.evaluations ?? 0) == 0)
                #expect(try await Self.alerts(port, rule: "Off", status: "firing") == 0)

                // keep_firing_for 1h: once the condition stops holding, Plain resolves and Kept keeps firing.
                #expect(try await post(50).status == 200)
                #expect(try await eventually(20) { try await Self.alerts(port, rule: "Plain", status: "resolved") == 1 })
                let evaluations = telemetry()["Kept"]?.evaluations ?? 0
                #expect(await eventually(20) { (telemetry()["Kept"]?.evaluations ?? 0) >= evaluations + 5 })
                #expect(try await Self.alerts(port, rule: "Kept", status: "firing") == 1)

                // log_notifications: false: the webhook got the notifications, the host's log did not.
                #expect(await eventually { receiver.notifications.contains { $0.event == "firing" } })
                let notified = records.all.filter { $0.message.hasPrefix("alert firing: ") || $0.message.hasPrefix("alert resolved: ") }
                #expect(notified.isEmpty, "\(notified.map(\.message))")
            }
        }
    }

    @Test("notification_timeout cuts a notification to a webhook that never answers")
    func notificationTimeoutKey() async throws {
        // A port that takes connections (the kernel's backlog) and never answers: nothing accepts them.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        try #require(bound)
        let silentPort = Int(UInt16(bigEndian: address.sin_port))
        try await withHost("""
            http:
              port: 0
            plugins: []
            metrics:
              flush_interval: 50ms
            alerts:
              notification_timeout: 500ms
              webhook_url: http://127.0.0.1:\(silentPort)/hook
              rules:
                - {name: Loud, query: queue_depth, condition: {greater_than: 100}, for: 0s, evaluation_interval: 100ms}
            """, logger: Logger(label: "notification-timeout")) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            _ = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "queue_depth", "type": "gauge", "value": 150}]}"#)
            // Cut after half a second (the default waits 30 s).
            #expect(await eventually(10) {
                let webhook = runtime.alerting.notifier.counts["webhook"]
                return (webhook?.failed ?? 0) + (webhook?.retries ?? 0) >= 1
            }, "\(runtime.alerting.notifier.counts)")
            #expect(runtime.alerting.notifier.counts["webhook"]?.lastError?.contains("did not answer within 0.") == true, "\(runtime.alerting.notifier.counts)")
        }
    }
}
