import Logging
import StepflowCore
import StepflowMetrics
import StepflowStorage
import StepflowWireFormats

/// The ingest receivers that speak the peers' protocols, and the counters every ingest path shares
/// (docs/ingest.md). The HTTP routes that feed them are `StepflowServer`'s.
public struct IngestCapability: Sendable {
    /// Requests and items by path and outcome, for every ingest route.
    public let statistics: IngestStatistics
    /// `POST /api/v1/write`.
    public let remoteWrite: RemoteWriteReceiver

    /// The most bytes a compressed body may expand to: 8 × `http.max_body_size`, at most 64 MiB.
    public static func maxDecompressedBytes(_ http: HTTPConfig) -> Int {
        http.maxBodySize >= Snappy.defaultLimit / 8 ? Snappy.defaultLimit : max(http.maxBodySize, 1) * 8
    }

    /// The receivers over `engine`, answering as `http.acknowledge` says and waiting up to
    /// `metrics.backpressure_timeout` for room in a full write queue.
    public static func build(
        http: HTTPConfig, metrics: MetricsConfig, engine: MetricsEngine, logger: Logger
    ) -> IngestCapability {
        let statistics = IngestStatistics()
        let policy = IngestPolicy(http, roomTimeout: metrics.backpressureTimeout)
        return IngestCapability(
            statistics: statistics,
            remoteWrite: RemoteWriteReceiver(
                engine: engine, policy: policy, maxDecompressedBytes: maxDecompressedBytes(http),
                maxSamples: metrics.maxQueueSize, statistics: statistics, logger: logger))
    }
}
