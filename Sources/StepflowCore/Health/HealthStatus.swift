import Foundation

/// The state of a component: the spec's `HealthState`, ordered from best to worst.
public enum HealthState: String, Sendable, Hashable, Codable, Comparable, CaseIterable {
    case healthy
    case degraded
    case unhealthy
    case unknown

    private var severity: Int {
        switch self {
        case .healthy: return 0
        case .unknown: return 1
        case .degraded: return 2
        case .unhealthy: return 3
        }
    }

    public static func < (lhs: HealthState, rhs: HealthState) -> Bool { lhs.severity < rhs.severity }
}

/// The result of one health check of one component: the spec's `HealthStatus`.
public struct HealthStatus: Sendable, Hashable {
    public var component: String
    public var status: HealthState
    public var message: String
    public var details: [String: JSONValue]
    public var lastCheck: Date
    public var responseTime: Duration

    public init(
        component: String,
        status: HealthState,
        message: String,
        details: [String: JSONValue] = [:],
        lastCheck: Date = Date(),
        responseTime: Duration = .zero
    ) {
        self.component = component
        self.status = status
        self.message = message
        self.details = details
        self.lastCheck = lastCheck
        self.responseTime = responseTime
    }
}

/// The health of the whole system, and each component's status.
///
/// The system state follows Kubernetes' meaning of ready: the host is unhealthy (503 on `/health` and
/// `/health/ready`) only when a core component — one it needs to serve its API and store data: ``coreComponents``
/// — is unhealthy. Any other component (a plugin, a built-in job, an exporter) that is unhealthy or degraded makes
/// the system `degraded` (200), naming the component; a core component that is degraded does too. Components not
/// checked yet (`unknown`) do not change the state. With no component at all, the state is `unknown`.
public struct SystemHealth: Sendable, Hashable {
    public var status: HealthState
    public var components: [HealthStatus]
    public var checkedAt: Date

    /// The components the host cannot serve without: the database and the scheduler that runs its writers' jobs.
    public static let coreComponents: Set<String> = ["storage", "scheduler"]

    public init(components: [HealthStatus], checkedAt: Date = Date()) {
        self.components = components.sorted { $0.component < $1.component }
        self.status = Self.combine(components)
        self.checkedAt = checkedAt
    }

    /// The rule above.
    public static func combine(_ components: [HealthStatus]) -> HealthState {
        guard !components.isEmpty else { return .unknown }
        var state = HealthState.healthy
        for component in components {
            switch component.status {
            case .unhealthy where coreComponents.contains(component.component): return .unhealthy
            case .unhealthy, .degraded: state = .degraded
            case .healthy, .unknown: break
            }
        }
        return state
    }
}

/// One registered check: the spec's `HealthCheck`. Implementations must return within the checker's timeout.
public protocol HealthCheck: Sendable {
    /// Runs the check once and reports the component's state.
    func check() async -> HealthStatus
}

/// Runs health checks and remembers their results: the spec's `HealthChecker` trait.
public protocol HealthChecker: Sendable {
    /// Runs the check registered for `component` now and returns (and remembers) its result.
    func checkHealth(_ component: String) async throws(MonitoringError) -> HealthStatus
    /// Runs the checks of several components.
    func checkHealthBatch(_ components: [String]) async throws(MonitoringError) -> [HealthStatus]
    /// Registers (or replaces) the check of `component`.
    func registerHealthCheck(_ component: String, check: any HealthCheck) async throws(MonitoringError)
    /// Removes the check of `component` and its last result.
    func unregisterHealthCheck(_ component: String) async throws(MonitoringError)
    /// The last result for `component`, without running its check.
    func getHealthStatus(_ component: String) async throws(MonitoringError) -> HealthStatus
    /// The last result of every component, and the overall state (the worst of them).
    func getSystemHealth() async throws(MonitoringError) -> SystemHealth
}
