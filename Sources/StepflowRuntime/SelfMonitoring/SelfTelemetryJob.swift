import StepflowCore
import StepflowMetrics
import StepflowScheduling

/// Stores the host's own series (``SelfTelemetry``: `stepflow_*`) like any other series, every
/// `metrics.collection_interval`, so that `/api/v1/metrics`, history queries and alert rules can use them
/// (docs/profiler.md, "Self-monitoring"). They belong to the host's source: the ingest API cannot overwrite them.
struct SelfTelemetryJob: ScheduledJob {
    let name = "telemetry"
    let kind = "builtin"
    let telemetry: SelfTelemetry
    let engine: MetricsEngine

    func run() async throws {
        try await engine.recordMetrics(telemetry.metrics().map(Metric.init(info:)), from: .host)
    }
}

extension Metric {
    /// The latest sample of a series, with its HELP text.
    init(info: MetricInfo) {
        self.init(
            name: info.name, value: info.value, labels: info.labels, timestamp: info.lastUpdated,
            metadata: info.help.map { ["help": .string($0)] } ?? [:])
    }
}
