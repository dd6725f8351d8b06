import Foundation
import StepflowCore

/// The spec's `HealthChecker`: a registry of checks, each run with a deadline, and their last results.
public actor HealthMonitor: HealthChecker {
    private var checks: [String: any HealthCheck] = [:]
    private var results: [String: HealthStatus] = [:]
    private let timeout: Duration

    /// - Parameter timeout: the deadline of one check (`health.check_timeout`); a check that misses it is
    ///   reported unhealthy.
    public init(timeout: Duration) {
        self.timeout = timeout
    }

    /// The registered component names, sorted.
    public var components: [String] { checks.keys.sorted() }

    public func checkHealth(_ component: String) async throws(MonitoringError) -> HealthStatus {
        guard let check = checks[component] else {
            throw .healthCheckFailed("no health check is registered for '\(component)'")
        }
        let status = await Self.run(check, component: component, timeout: timeout)
        if checks[component] != nil { results[component] = status }
        return status
    }

    public func checkHealthBatch(_ components: [String]) async throws(MonitoringError) -> [HealthStatus] {
        var statuses: [HealthStatus] = []
        for component in components {
            statuses.append(try await checkHealth(component))
        }
        return statuses
    }

    public func registerHealthCheck(_ component: String, check: any HealthCheck) async throws(MonitoringError) {
        guard !component.isEmpty else { throw .healthCheckFailed("a health check needs a component name") }
        checks[component] = check
        results[component] = nil
    }

    public func unregisterHealthCheck(_ component: String) async throws(MonitoringError) {
        guard checks.removeValue(forKey: component) != nil else {
            throw .healthCheckFailed("no health check is registered for '\(component)'")
        }
        results[component] = nil
    }

    public func getHealthStatus(_ component: String) async throws(MonitoringError) -> HealthStatus {
        guard checks[component] != nil else {
            throw .healthCheckFailed("no health check is registered for '\(component)'")
        }
        return results[component]
            ?? HealthStatus(component: component, status: .unknown, message: "not checked yet")
    }

    public func getSystemHealth() async throws(MonitoringError) -> SystemHealth {
        SystemHealth(components: checks.keys.map {
            results[$0] ?? HealthStatus(component: $0, status: .unknown, message: "not checked yet")
        })
    }

    /// Runs every registered check now and returns the system health from the fresh results.
    public func checkAll() async -> SystemHealth {
        for component in checks.keys.sorted() {
            _ = try? await checkHealth(component)
        }
        return (try? await getSystemHealth()) ?? SystemHealth(components: [])
    }

    private static func run(_ check: any HealthCheck, component: String, timeout: Duration) async -> HealthStatus {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await withTaskGroup(of: HealthStatus?.self) { group in
            group.addTask { await check.check() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let elapsed = start.duration(to: clock.now)
        guard var status = outcome else {
            return HealthStatus(
                component: component, status: .unhealthy,
                message: "health check did not answer within \(timeout)", responseTime: elapsed)
        }
        status.component = component
        status.responseTime = elapsed
        status.lastCheck = Date()
        return status
    }
}
