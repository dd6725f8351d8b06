import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

/// Issue 11, point 13: a clean restart keeps an alert firing on series posted through the API, without a second
/// notification.
@Suite("Alerts across a restart", .serialized)
struct AlertRestartTests {
    let logger = Logger(label: "alert-restart-tests")

    @Test("a firing alert on posted series stays firing after a restart, and is not notified again")
    func firingSurvivesRestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let receiver = WebhookReceiver()
        let hookGroup = ServiceGroup(services: [receiver.application(logger: logger)], logger: logger)
        async let hooking: Void = hookGroup.run()
        let hookPort = await receiver.waitForPort()
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            metrics:
              flush_interval: 50ms
            alerts:
              webhook_url: http://127.0.0.1:\(hookPort)/hook
              rules:
                - name: QueueTooDeep
                  query: queue_depth
                  condition: {greater_than: 100}
                  for: 0s
                  evaluation_interval: 200ms
            plugins: []
            """)
        let loaded = try ConfigurationLoader.load(path: path, environment: [:])
        let first = try await MonitoringRuntime(loaded: loaded, logger: logger)
        try await whileRunning(first, logger: logger) {
            let port = await first.boundAddress.waitForPort()
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "queue_depth", "type": "gauge", "value": 150, "labels": {"queue": "mail"}}]}
                """)
            #expect(posted.status == 200)
            #expect(await eventually { receiver.notifications.contains { $0.event == "firing" } })
        }

        let second = try await MonitoringRuntime(loaded: loaded, logger: logger)
        try await whileRunning(second, logger: logger) {
            let port = await second.boundAddress.waitForPort()
            // Ten evaluations after the restart, with no new sample.
            #expect(await eventually { (second.alerting.engine.telemetry.rules["QueueTooDeep"]?.evaluations ?? 0) >= 10 })
            let alerts = try jsonObject(try await httpGet(port, "/api/v1/alerts").body)
            let open = alerts["alerts"] as? [[String: Any]] ?? []
            #expect(open.count == 1 && open.first?["status"] as? String == "firing", "\(alerts)")
        }
        let events = receiver.notifications.map(\.event)
        #expect(events.filter { $0 == "firing" }.count == 1, "\(events)")
        #expect(!events.contains("resolved"), "\(events)")
        await hookGroup.triggerGracefulShutdown()
        try await hooking
    }
}
