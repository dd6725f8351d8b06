import Logging
import StepflowCore
import StepflowScheduling
import StepflowStorage

/// The health capability: the monitor every component registers its check with (`/health`), and the job that
/// runs the checks on `health.check_interval` and stores their results.
public struct HealthCapability: Sendable {
    /// The components' checks and their last results (`/health`).
    public let monitor: HealthMonitor
    /// The job that runs every check and stores the results in `monitoring_health_checks`.
    public let jobs: [BuiltinJob]
    /// `health.check_retries`: failed calls in a row before a job's component turns unhealthy.
    public let retries: Int

    /// The monitor with `health.check_timeout` per check, and its job every `health.check_interval`.
    public static func build(_ configuration: HealthConfig, database: MonitoringDatabase, logger: Logger) -> HealthCapability {
        let monitor = HealthMonitor(timeout: configuration.checkTimeout)
        let job = HealthCheckJob(monitor: monitor, store: HealthCheckStore(database: database), logger: logger)
        return HealthCapability(
            monitor: monitor,
            jobs: [BuiltinJob(job, every: configuration.checkInterval, timeout: configuration.checkTimeout * 2)],
            retries: configuration.checkRetries)
    }

    /// Registers a component for each job of `jobs` that reports its health, judged by its status on `scheduler`.
    public func watch<C: Clock>(_ jobs: [BuiltinJob], on scheduler: Scheduler<C>) async throws(MonitoringError)
    where C.Duration == Duration {
        for job in jobs where job.reportsHealth {
            try await monitor.registerHealthCheck(
                job.job.name, check: JobHealthCheck(scheduler: scheduler, jobName: job.job.name, retries: retries))
        }
    }
}
