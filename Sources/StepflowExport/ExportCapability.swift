import Logging
import StepflowCore
import StepflowScheduling
import StepflowSecurity
import StepflowStorage

/// The export capability: what is sent out to the systems users scale out to, each exporter from its stored
/// position (`monitoring_export_positions`), so that an outage or a restart loses nothing.
public struct ExportCapability: Sendable {
    /// Prometheus remote write (`exporters.prometheus`), when it and `metrics.enable_export` are on.
    public let remoteWrite: RemoteWriteJob?
    /// One job per exporter that is on.
    public let jobs: [BuiltinJob]

    /// The exporters `exporters:` and `metrics.enable_export` turn on, each over `database` from its stored position.
    ///
    /// - Throws: `configurationError` when an exporter's `tls.ca_file` cannot be read.
    public static func build(
        _ configuration: ExportersConfig, metrics: MetricsConfig, database: MonitoringDatabase,
        positions: ExportPositionStore, operations: OperationLedger = OperationLedger(), logger: Logger
    ) throws(MonitoringError) -> ExportCapability {
        guard metrics.enableExport, configuration.prometheus.enabled else {
            return ExportCapability(remoteWrite: nil, jobs: [])
        }
        let job = RemoteWriteJob(
            client: RemoteWriteClient(
                endpoint: configuration.prometheus.endpoint,
                client: try OutgoingHTTPClients.client(for: configuration.prometheus.tls, key: "exporters.prometheus.tls")),
            metrics: MetricStore(database: database),
            positions: positions, timeout: min(metrics.exportInterval, .seconds(30)), operations: operations,
            logger: logger)
        return ExportCapability(
            remoteWrite: job,
            jobs: [BuiltinJob(job, every: metrics.exportInterval, timeout: max(metrics.exportInterval, .seconds(30)))])
    }
}
