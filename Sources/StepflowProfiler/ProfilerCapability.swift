import StepflowCore
import StepflowMetrics
import StepflowScheduling

/// The profiler capability (docs/profiler.md): the process groups of `profiler.processes`, scanned on
/// `profiler.scan_interval`, and the span metrics (`profiler.span_metrics`) the trace engine feeds.
public struct ProfilerCapability: Sendable {
    /// The process-group scanner, when groups are configured.
    public let processes: ProcessGroupScanner?
    /// Request, error and duration series per operation, when `profiler.span_metrics` is on: the trace engine's
    /// span observer.
    public let spans: SpanMetrics?
    /// The profiling API of an embedding application (`runtime.profiler.measure`).
    public let profiler: Profiler
    /// `profiler:processes` when groups are configured.
    public let jobs: [BuiltinJob]

    /// - Throws: `configurationError` when a group's regex does not compile (the loader checks them first).
    public static func build(_ configuration: ProfilerConfig, metrics: MetricsEngine) throws(MonitoringError) -> ProfilerCapability {
        let spans = configuration.spanMetrics
            ? SpanMetrics(bounds: configuration.spanBuckets, maxOperations: configuration.maxOperations) : nil
        let profiler = Profiler(bounds: configuration.spanBuckets)
        guard !configuration.processes.isEmpty else {
            return ProfilerCapability(processes: nil, spans: spans, profiler: profiler, jobs: [])
        }
        let scanner = try ProcessGroupScanner(
            groups: configuration.processes, proportionalMemory: configuration.proportionalMemory)
        return ProfilerCapability(
            processes: scanner, spans: spans, profiler: profiler,
            jobs: [BuiltinJob(
                ProcessGroupJob(scanner: scanner, engine: metrics), every: configuration.scanInterval,
                timeout: max(configuration.scanInterval, .seconds(30)))])
    }
}
