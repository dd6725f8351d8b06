import StepflowCore
import StepflowMetrics
import StepflowScheduling

/// The profiler capability: for now the process groups of `profiler.processes` (docs/profiler.md), scanned on
/// `profiler.scan_interval`.
public struct ProfilerCapability: Sendable {
    /// The process-group scanner, when groups are configured.
    public let processes: ProcessGroupScanner?
    /// `profiler:processes` when groups are configured.
    public let jobs: [BuiltinJob]

    /// - Throws: `validationError` when a group's regex does not compile (the loader checks them first).
    public static func build(_ configuration: ProfilerConfig, metrics: MetricsEngine) throws(MonitoringError) -> ProfilerCapability {
        guard !configuration.processes.isEmpty else { return ProfilerCapability(processes: nil, jobs: []) }
        let scanner = try ProcessGroupScanner(groups: configuration.processes)
        return ProfilerCapability(
            processes: scanner,
            jobs: [BuiltinJob(
                ProcessGroupJob(scanner: scanner, engine: metrics), every: configuration.scanInterval,
                timeout: max(configuration.scanInterval, .seconds(30)))])
    }
}
