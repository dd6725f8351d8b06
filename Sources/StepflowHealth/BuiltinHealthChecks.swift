import Foundation
import StepflowCore
import StepflowScheduling
import StepflowStorage

/// The storage component: unhealthy when the file under the host was deleted or replaced, failed its integrity
/// check, does not answer, or refuses writes (ingest answers 503 then); healthy otherwise. Details carry the file
/// size and the queue depth.
public struct StorageHealthCheck: HealthCheck {
    let database: MonitoringDatabase
    let writer: MetricsWriter?
    let queue: MetricsWriteQueue?
    let integrity: StorageIntegrityJob?
    let writeFailure: @Sendable () -> String?

    /// - Parameter writeFailure: why a writer (metrics, logs, spans) cannot write now, or `nil`.
    public init(
        database: MonitoringDatabase, writer: MetricsWriter? = nil, queue: MetricsWriteQueue? = nil,
        integrity: StorageIntegrityJob? = nil, writeFailure: @escaping @Sendable () -> String? = { nil }
    ) {
        self.database = database
        self.writer = writer
        self.queue = queue
        self.integrity = integrity
        self.writeFailure = writeFailure
    }

    public func check() async -> HealthStatus {
        var details: [String: JSONValue] = [
            "path": .string(database.path),
            "size_bytes": .int(Int64(clamping: database.fileSize())),
        ]
        if let queue { details["queue_depth"] = .int(Int64(queue.depth)) }
        if let skipped = integrity?.rowsOutsideValidTime, !skipped.isEmpty {
            details["rows_outside_valid_time"] = .object(skipped.mapValues { .int(Int64($0)) })
        }
        func unhealthy(_ message: String) -> HealthStatus {
            HealthStatus(component: "storage", status: .unhealthy, message: message, details: details)
        }
        if let problem = database.fileProblem() { return unhealthy(problem + "; new data is not written") }
        if let problem = integrity?.lastProblem { return unhealthy("the integrity check failed: \(problem)") }
        do {
            try await database.ping()
        } catch {
            return unhealthy("\(error)")
        }
        if let failure = writeFailure() ?? queue?.writeFailure {
            return unhealthy("writes fail (\(failure)); rows stay queued and ingest answers 503")
        }
        return HealthStatus(component: "storage", status: .healthy, message: "database answers", details: details)
    }
}

/// One scheduled job (a plugin or a built-in collector), judged by its scheduler status: ok, scheduled but not
/// yet due, or in its first call → healthy; fewer than `retries` consecutive failures → degraded; `retries` or more, or stuck → unhealthy.
public struct JobHealthCheck<C: Clock>: HealthCheck where C.Duration == Duration {
    let scheduler: Scheduler<C>
    let jobName: String
    let retries: Int
    let details: [String: JSONValue]

    public init(scheduler: Scheduler<C>, jobName: String, retries: Int, details: [String: JSONValue] = [:]) {
        self.scheduler = scheduler
        self.jobName = jobName
        self.retries = max(retries, 1)
        self.details = details
    }

    public func check() async -> HealthStatus {
        guard let status = scheduler.status(of: jobName) else {
            return HealthStatus(component: jobName, status: .unknown, message: "not scheduled")
        }
        var details = self.details
        details["state"] = .string(status.state.rawValue)
        details["runs"] = .int(Int64(status.runs))
        details["failures"] = .int(Int64(status.failures))
        details["timeouts"] = .int(Int64(status.timeouts))
        details["interval_seconds"] = .double(Double(status.schedule.interval.components.seconds))
        details["breaker"] = .string(status.breaker.rawValue)
        if let lastError = status.lastError { details["last_error"] = .string(lastError) }
        if let lastSuccess = status.lastSuccess {
            details["last_success"] = .string(lastSuccess.rfc3339Seconds)
        }
        let state: HealthState
        let message: String
        switch status.state {
        // A job that is scheduled but not yet due, or in its first call, is healthy: nothing has failed, and a
        // fresh host must not report "unknown" until its slowest job first runs (an hour for retention).
        case .pending:
            (state, message) = (.healthy, "scheduled; first run not due yet")
        case .running where status.lastSuccess == nil && status.consecutiveFailures == 0:
            (state, message) = (.healthy, "first call in progress")
        case .stuck:
            (state, message) = (.unhealthy, "a call missed its deadline and has not returned")
        case .stopped:
            (state, message) = (.unknown, "stopped")
        default:
            if status.consecutiveFailures == 0 {
                (state, message) = (.healthy, "ok")
            } else if status.consecutiveFailures < retries {
                (state, message) = (.degraded, "\(status.consecutiveFailures) consecutive failures: \(status.lastError ?? "")")
            } else {
                let breaker = status.breaker == .closed ? "" : " (circuit breaker \(status.breaker.rawValue))"
                (state, message) = (
                    .unhealthy, "\(status.consecutiveFailures) consecutive failures\(breaker): \(status.lastError ?? "")"
                )
            }
        }
        return HealthStatus(component: jobName, status: state, message: message, details: details)
    }
}

/// The scheduler component: healthy while it runs, with a count of jobs per state.
public struct SchedulerHealthCheck<C: Clock>: HealthCheck where C.Duration == Duration {
    let scheduler: Scheduler<C>

    public init(scheduler: Scheduler<C>) {
        self.scheduler = scheduler
    }

    public func check() async -> HealthStatus {
        let statuses = scheduler.statuses()
        var byState: [String: JSONValue] = [:]
        for status in statuses {
            if case .int(let n) = byState[status.state.rawValue] ?? .int(0) {
                byState[status.state.rawValue] = .int(n + 1)
            }
        }
        let details: [String: JSONValue] = ["jobs": .int(Int64(statuses.count)), "states": .object(byState)]
        if !statuses.isEmpty && statuses.allSatisfy({ $0.state == .stopped }) {
            return HealthStatus(component: "scheduler", status: .unhealthy, message: "stopped", details: details)
        }
        return HealthStatus(
            component: "scheduler", status: .healthy,
            message: "\(statuses.count) jobs scheduled", details: details)
    }
}

/// A fixed result: used for a plugin that was refused at load, so `/health` shows it and why.
public struct FixedHealthCheck: HealthCheck {
    let status: HealthStatus

    public init(_ status: HealthStatus) {
        self.status = status
    }

    public func check() async -> HealthStatus { status }
}
