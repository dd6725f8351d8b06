import Logging
import StepflowCore
import StepflowLogs
import StepflowMetrics
import StepflowStorage
import StepflowTracing
import StepflowWireFormats

/// The ingest receivers that speak the peers' protocols, and the counters every ingest path shares
/// (docs/ingest.md). The HTTP routes that feed them are `StepflowServer`'s.
public struct IngestCapability: Sendable {
    /// Requests and items by path and outcome, for every ingest route.
    public let statistics: IngestStatistics
    /// `POST /api/v1/write`.
    public let remoteWrite: RemoteWriteReceiver
    /// `POST /v1/traces`, `/v1/logs`, `/v1/metrics`.
    public let otlp: OTLPReceiver

    /// The most bytes a compressed body (Snappy, gzip) may expand to: 8 × `http.max_body_size`, at most 64 MiB.
    public static func maxDecompressedBytes(_ http: HTTPConfig) -> Int {
        http.maxBodySize >= Snappy.defaultLimit / 8 ? Snappy.defaultLimit : max(http.maxBodySize, 1) * 8
    }

    /// The receivers over the engines, answering as `http.acknowledge` says and waiting up to
    /// `metrics.backpressure_timeout` for room in a full write queue.
    public static func build(
        http: HTTPConfig, metrics: MetricsConfig, engine: MetricsEngine, logs: LogEngine, traces: TraceEngine,
        logger: Logger
    ) -> IngestCapability {
        let statistics = IngestStatistics()
        let policy = IngestPolicy(http, roomTimeout: metrics.backpressureTimeout)
        return IngestCapability(
            statistics: statistics,
            remoteWrite: RemoteWriteReceiver(
                engine: engine, policy: policy, maxDecompressedBytes: maxDecompressedBytes(http),
                maxSamples: metrics.maxQueueSize, statistics: statistics, logger: logger),
            otlp: OTLPReceiver(
                metrics: engine, logs: logs, traces: traces, policy: policy, maxDecompressedBytes: maxDecompressedBytes(http),
                maxItems: metrics.maxQueueSize, statistics: statistics, logger: logger))
    }
}
