import Logging
import StepflowCore
import StepflowScheduling
import StepflowStorage

/// Runs every registered health check on `health.check_interval` and appends the results to
/// `monitoring_health_checks`, logging each change of state.
public final class HealthCheckJob: ScheduledJob {
    public let name = "health"
    public let kind = "builtin"
    private let monitor: HealthMonitor
    private let store: HealthCheckStore
    private let logger: Logger
    private let previous = PreviousStates()

    public init(monitor: HealthMonitor, store: HealthCheckStore, logger: Logger) {
        self.monitor = monitor
        self.store = store
        self.logger = logger
    }

    public func run() async throws {
        let health = await monitor.checkAll()
        for component in health.components {
            if let before = await previous.swap(component.component, component.status), before != component.status {
                logger.notice(
                    "health changed",
                    metadata: [
                        "component": "\(component.component)", "from": "\(before.rawValue)",
                        "to": "\(component.status.rawValue)", "message": "\(component.message)",
                    ])
            }
        }
        try await store.insert(health.components)
    }

    private actor PreviousStates {
        var states: [String: HealthState] = [:]

        func swap(_ component: String, _ state: HealthState) -> HealthState? {
            defer { states[component] = state }
            return states[component]
        }
    }
}
