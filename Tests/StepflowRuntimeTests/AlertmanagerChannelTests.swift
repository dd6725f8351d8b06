import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StepflowAlerting
import StepflowCore
import StepflowExport
import Synchronization
import Testing

/// An Alertmanager stand-in whose first `POST /api/v2/alerts` waits until the test opens the gate.
final class GatedAlertmanager: Sendable {
    private let open = Mutex(false)
    private let port = Mutex<Int?>(nil)
    private let requests = Mutex(0)

    func release() { open.withLock { $0 = true } }
    var received: Int { requests.withLock { $0 } }

    func waitForPort() async -> Int {
        while true {
            if let port = port.withLock({ $0 }) { return port }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    func application(logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.post("/api/v2/alerts") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            self.requests.withLock { $0 += 1 }
            while !self.open.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            return Response(status: .ok)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
    }
}

/// Issue 13, point 3: the Alertmanager channel's table of alerts it keeps open, under reentrancy.
@Suite("The Alertmanager channel while a send is in flight")
struct AlertmanagerChannelTests {
    static func firing(_ name: String) -> Alert {
        Alert(
            ruleID: .random(), name: name, severity: .warning, status: .firing, labels: [Label("job", name)],
            activeSince: Date(), firedAt: Date(), lastActiveAt: Date())
    }

    @Test("alerts tracked while a send waits on Alertmanager are kept when the send completes")
    func trackDuringSend() async throws {
        let logger = Logger(label: "alertmanager-channel-tests")
        let receiver = GatedAlertmanager()
        let group = ServiceGroup(services: [receiver.application(logger: logger)], logger: logger)
        async let serving: Void = group.run()
        let port = await receiver.waitForPort()
        let channel = AlertmanagerAlertChannel(baseURL: "http://127.0.0.1:\(port)", generatorURL: "http://test/", timeout: .seconds(30))
        let sending = Task { try await channel.send([AlertNotification(event: .firing, alert: Self.firing("Sent"))]) }
        let deadline = ContinuousClock.now + .seconds(10)
        while receiver.received == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(receiver.received == 1)
        // The send is suspended in its POST: the actor takes other work meanwhile.
        await channel.track([Self.firing("Restored")])
        receiver.release()
        try await sending.value
        #expect(await channel.activeCount == 2, "the send replaced the table with the copy it took before its await")
        await group.triggerGracefulShutdown()
        try await serving
    }
}
