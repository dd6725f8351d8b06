import Foundation
import StepflowCore
import StepflowHealth
import StepflowStorage
import StepflowTestSupport
import Testing

struct SlowCheck: HealthCheck {
    func check() async -> HealthStatus {
        try? await Task.sleep(for: .seconds(30))
        return HealthStatus(component: "slow", status: .healthy, message: "late")
    }
}

@Suite("The health monitor")
struct HealthMonitorTests {
    @Test("the system state is the worst component state, and results are remembered")
    func worstWins() async throws {
        let monitor = HealthMonitor(timeout: .seconds(5))
        try await monitor.registerHealthCheck("a", check: FixedHealthCheck(HealthStatus(component: "a", status: .healthy, message: "")))
        try await monitor.registerHealthCheck("b", check: FixedHealthCheck(HealthStatus(component: "b", status: .degraded, message: "slow")))
        #expect(try await monitor.getHealthStatus("b").status == .unknown)
        let health = await monitor.checkAll()
        #expect(health.status == .degraded)
        #expect(health.components.map(\.component) == ["a", "b"])
        #expect(try await monitor.getHealthStatus("b").message == "slow")
        try await monitor.unregisterHealthCheck("b")
        #expect(await monitor.checkAll().status == .healthy)
        await #expect(throws: MonitoringError.self) { try await monitor.checkHealth("b") }
    }

    @Test(
        "the system state: only an unhealthy core component makes it unhealthy; any other trouble degrades it",
        arguments: [
            ([("storage", HealthState.healthy), ("plugin:a", .healthy)], HealthState.healthy),
            ([("storage", .healthy), ("plugin:a", .unknown)], .healthy),
            ([("storage", .healthy), ("plugin:a", .degraded)], .degraded),
            ([("storage", .healthy), ("plugin:a", .unhealthy)], .degraded),
            ([("storage", .degraded), ("plugin:a", .healthy)], .degraded),
            ([("storage", .unhealthy), ("plugin:a", .healthy)], .unhealthy),
            ([("scheduler", .unhealthy), ("plugin:a", .unhealthy)], .unhealthy),
            ([("retention", .unhealthy), ("scheduler", .healthy)], .degraded),
            ([], .unknown),
        ])
    func combination(_ components: [(String, HealthState)], expected: HealthState) {
        let health = SystemHealth(components: components.map { HealthStatus(component: $0.0, status: $0.1, message: "") })
        #expect(health.status == expected)
    }

    @Test("a check that misses its deadline is reported unhealthy")
    func timesOut() async throws {
        let monitor = HealthMonitor(timeout: .milliseconds(100))
        try await monitor.registerHealthCheck("slow", check: SlowCheck())
        let status = try await monitor.checkHealth("slow")
        #expect(status.status == .unhealthy)
        #expect(status.message.contains("did not answer"))
    }

    @Test("the storage check reports a healthy database with its size")
    func storageCheck() async throws {
        let directory = Scratch.root + "stepflow-health-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try MonitoringDatabase(path: directory + "/h.sqlite")
        let status = await StorageHealthCheck(database: database).check()
        #expect(status.status == .healthy)
        if case .int(let size) = status.details["size_bytes"] { #expect(size > 0) } else { Issue.record("no size") }
    }
}
