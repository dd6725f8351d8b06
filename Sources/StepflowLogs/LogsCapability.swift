import Logging
import ServiceLifecycle
import StepflowCore
import StepflowSecurity
import StepflowScheduling
import StepflowStorage

/// The logs capability: the engine (the spec's `LogManager`), its queue and writer, and the export to a file.
public struct LogsCapability: Sendable {
    /// Checks, stores, queries and exports log entries.
    public let engine: LogEngine
    /// `monitoring_logs`.
    public let store: LogStore
    /// The entries accepted and not yet written.
    public let queue: LogWriteQueue
    /// Writes ``queue`` in batches every `logs.flush_interval` (a service).
    public let writer: BatchWriter<LogRow, Never>
    /// The export to `logs.export_file`, when export is on and a file is set.
    public let fileExport: LogExportJob?
    /// One element after each batch of log entries is committed, the newest kept while nobody reads (the log
    /// alert rules run on it, so a burst of writes costs one evaluation, not one per batch).
    public let written: AsyncStream<Void>
    /// The file export, when it is on.
    public let jobs: [BuiltinJob]
    /// What the host's service group runs for logs.
    public var services: [any Service] { [writer] }

    /// - Parameters:
    ///   - backpressureTimeout: how long ingest waits for room in a full queue (`metrics.backpressure_timeout`).
    ///   - positions: where the file export keeps the row it reached.
    ///   - operations: where each written batch (`log_processing`) and export is counted.
    public static func build(
        _ configuration: LogConfig, limits: LimitsConfig, backpressureTimeout: Duration, database: MonitoringDatabase,
        positions: ExportPositionStore, redactor: Redactor = Redactor(), operations: OperationLedger = OperationLedger(),
        logger: Logger
    ) -> LogsCapability {
        let store = LogStore(database: database)
        let queue = LogWriteQueue(capacity: configuration.maxQueueSize, batchSize: 1000, capacitySetting: "logs.max_queue_size")
        let engine = LogEngine(
            queue: queue, store: store, source: configuration.source, maxMessageBytes: configuration.maxLogSize,
            backpressureTimeout: backpressureTimeout, limits: limits, redactor: redactor, logger: logger)
        let (written, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let writer = BatchWriter<LogRow, Never>(
            queue: queue, name: "logs", flushInterval: configuration.flushInterval, logger: logger,
            afterWrite: { rows, duration in
                try? operations.record(.logProcessing, count: rows, duration: duration)
                signal.yield()
            }
        ) { (rows, _) async throws(MonitoringError) in try await store.insert(rows) }
        var fileExport: LogExportJob?
        var jobs: [BuiltinJob] = []
        if configuration.enableExport, !configuration.exportFile.isEmpty {
            let exporter = FileLogExporter(
                path: configuration.exportFile, rotationSize: configuration.enableRotation ? configuration.rotationSize : nil,
                compress: configuration.enableCompression, keep: configuration.maxRotatedFiles, logger: logger)
            let job = LogExportJob(
                name: "export:file", kind: "builtin", exporter: exporter, store: store, positions: positions, operations: operations,
                logger: logger)
            jobs.append(BuiltinJob(job, every: configuration.exportInterval, timeout: .seconds(120), reportsHealth: true))
            fileExport = job
        }
        return LogsCapability(
            engine: engine, store: store, queue: queue, writer: writer, fileExport: fileExport, written: written, jobs: jobs)
    }
}
