import Logging
import StepflowCore
import StepflowScheduling
import StepflowSecurity
import StepflowStorage

/// The export capability: what is sent out to the systems users scale out to, each exporter from its stored
/// position (`monitoring_export_positions`), so that an outage or a restart loses nothing (docs/exporters.md).
public struct ExportCapability: Sendable {
    /// Prometheus remote write (`exporters.prometheus`), when it and `metrics.enable_export` are on.
    public let remoteWrite: RemoteWriteJob?
    /// What every document exporter job reports: its name (`exporter:<sink>:<kind>`), sink, kind, interval and
    /// statistics.
    public let documentExporters: [DocumentExporterStatus]
    /// One job per exporter that is on.
    public let jobs: [BuiltinJob]

    /// The exporters that `exporters:` and each pipeline's `enable_export` turn on, each over `database` from its
    /// stored position, adding `externalLabels` (`exporters.external_labels` with the host name) to what they send.
    ///
    /// - Throws: `configurationError` when an exporter's `tls.ca_file` cannot be read.
    public static func build(
        _ configuration: ExportersConfig, metrics: MetricsConfig, logs: LogConfig, tracing: TracingConfig,
        database: MonitoringDatabase, positions: ExportPositionStore, externalLabels: [Label] = [],
        operations: OperationLedger = OperationLedger(), logger: Logger
    ) throws(MonitoringError) -> ExportCapability {
        var jobs: [BuiltinJob] = []
        var remoteWrite: RemoteWriteJob?
        if metrics.enableExport, configuration.prometheus.enabled {
            let job = RemoteWriteJob(
                client: RemoteWriteClient(
                    endpoint: configuration.prometheus.endpoint, externalLabels: externalLabels,
                    client: try OutgoingHTTPClients.client(for: configuration.prometheus.tls, key: "exporters.prometheus.tls")),
                metrics: MetricStore(database: database),
                positions: positions, timeout: min(metrics.exportInterval, .seconds(30)), operations: operations,
                logger: logger)
            remoteWrite = job
            jobs.append(BuiltinJob(job, every: metrics.exportInterval, timeout: max(metrics.exportInterval, .seconds(30))))
        }
        var documentExporters: [DocumentExporterStatus] = []
        let elastic = configuration.elasticsearch
        if elastic.enabled, logs.enableExport || metrics.enableExport || tracing.enableExport {
            let client = try OutgoingHTTPClients.client(for: elastic.tls, key: "exporters.elasticsearch.tls")
            func settings(_ index: String) -> ElasticsearchBulkSettings {
                var settings = ElasticsearchBulkSettings(url: elastic.url, index: index)
                settings.username = elastic.username
                settings.password = elastic.password
                settings.apiKey = elastic.apiKey
                settings.gzip = elastic.gzip
                settings.maxDocuments = elastic.maxBatchDocuments
                settings.maxBytes = elastic.maxBatchBytes
                settings.timeout = elastic.timeout
                return settings
            }
            func add<Source: ExportSource>(_ source: Source, interval: Duration, index: String, document: @escaping @Sendable (Source.Item) -> ElasticsearchDocument) {
                let sink = ElasticsearchBulkSink<Source.Item>(settings: settings(index), client: client, document: document)
                let job = DocumentExportJob(
                    source: source, sink: sink, positions: positions, interval: interval,
                    batchSize: elastic.maxBatchDocuments, maxBacklogAge: elastic.maxBacklogAge, operations: operations,
                    logger: logger)
                documentExporters.append(DocumentExporterStatus(job))
                // A run sends up to 100 batches, each with up to three attempts.
                jobs.append(BuiltinJob(job, every: interval, timeout: max(interval, elastic.timeout * 4)))
            }
            if logs.enableExport {
                add(LogExportSource(store: LogStore(database: database)), interval: logs.exportInterval, index: elastic.logIndex) {
                    ElasticsearchDocuments.log($0, externalLabels: externalLabels)
                }
            }
            if metrics.enableExport {
                add(MetricExportSource(store: MetricStore(database: database)), interval: metrics.exportInterval, index: elastic.metricsIndex) {
                    ElasticsearchDocuments.metric($0, externalLabels: externalLabels)
                }
            }
            if tracing.enableExport {
                add(SpanExportSource(store: TraceStore(database: database)), interval: tracing.exportInterval, index: elastic.tracesIndex) {
                    ElasticsearchDocuments.span($0, externalLabels: externalLabels)
                }
            }
        }
        let otlp = configuration.otlp
        let sendsTraces = otlp.traces && tracing.enableExport
        let sendsLogs = otlp.logs && logs.enableExport
        let sendsMetrics = otlp.metrics && metrics.enableExport
        if otlp.enabled, sendsTraces || sendsLogs || sendsMetrics {
            let client = try OutgoingHTTPClients.client(for: otlp.tls, key: "exporters.otlp.tls")
            var settings = OTLPSinkSettings(endpoint: otlp.endpoint)
            settings.headers = otlp.headers
            settings.gzip = otlp.gzip
            settings.timeout = otlp.timeout
            settings.maxItems = otlp.maxBatchItems
            let requests = OTLPRequests(
                serviceName: otlp.serviceName, externalLabels: externalLabels, attributes: otlp.resourceAttributes)
            func add<Source: ExportSource>(_ source: Source, interval: Duration, signal: OTLPSink<Source.Item>.Signal) {
                let job = DocumentExportJob(
                    source: source, sink: OTLPSink(settings: settings, signal: signal, client: client), positions: positions,
                    interval: interval, batchSize: otlp.maxBatchItems, maxBacklogAge: otlp.maxBacklogAge,
                    operations: operations, logger: logger)
                documentExporters.append(DocumentExporterStatus(job))
                jobs.append(BuiltinJob(job, every: interval, timeout: max(interval, otlp.timeout * 4 + DocumentExportJob<Source, OTLPSink<Source.Item>>.maxRetryAfter * 2)))
            }
            if sendsTraces {
                add(SpanExportSource(store: TraceStore(database: database)), interval: tracing.exportInterval, signal: .traces(requests))
            }
            if sendsLogs {
                add(LogExportSource(store: LogStore(database: database)), interval: logs.exportInterval, signal: .logs(requests))
            }
            if sendsMetrics {
                add(MetricExportSource(store: MetricStore(database: database)), interval: metrics.exportInterval, signal: .metrics(requests))
            }
        }
        return ExportCapability(remoteWrite: remoteWrite, documentExporters: documentExporters, jobs: jobs)
    }
}

/// A document exporter job as telemetry and health see it.
public struct DocumentExporterStatus: Sendable {
    /// `exporter:<sink>:<kind>`.
    public let name: String
    /// `elasticsearch`, `otlp`.
    public let exporter: String
    public let kind: ExportKind
    public let destination: String
    public let interval: Duration
    public let statistics: ExportStatistics

    public init<Source, Sink>(_ job: DocumentExportJob<Source, Sink>) {
        name = job.name
        exporter = job.sink.name
        kind = job.source.kind
        destination = job.sink.destination
        interval = job.interval
        statistics = job.statistics
    }
}
