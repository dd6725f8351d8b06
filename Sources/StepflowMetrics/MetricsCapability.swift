import Foundation
import Logging
import ServiceLifecycle
import StepflowCore
import StepflowScheduling
import StepflowStorage

/// The metrics capability: the engine every sample goes through, its queue and writer, the swift-metrics backend,
/// and the built-in jobs around them (the host's own process metrics, series expiry, aggregation).
public struct MetricsCapability: Sendable {
    /// Every sample goes through it: validation, per-source budgets, the series table, `/metrics`.
    public let engine: MetricsEngine
    /// The samples accepted and not yet written.
    public let queue: MetricsWriteQueue
    /// Writes ``queue`` in batches every `metrics.flush_interval` (a service).
    public let writer: MetricsWriter
    /// A swift-metrics backend feeding ``engine``: `MetricsSystem.bootstrap(factory)`.
    public let factory: StepflowMetricsFactory
    /// `nil` when `metrics.enable_aggregation` is off.
    public let aggregation: AggregationJob?
    /// The process collector, the swift-metrics snapshot, series expiry and, when on, aggregation.
    public let jobs: [BuiltinJob]
    /// What the host's service group runs for metrics.
    public var services: [any Service] { [writer] }

    /// How far back a start restores series from storage: the alert evaluator's lookback (Prometheus' staleness).
    public static let restoreWindow: Duration = .seconds(300)

    /// Builds the engine over `database` and restores the series written within ``restoreWindow`` with their
    /// latest values, so a restart neither resolves the alerts on them nor notifies them again.
    ///
    /// - Parameters:
    ///   - jobTimeout: the deadline of the collection jobs (`scheduler.default_timeout`).
    ///   - operations: where each collection of the process collector is counted.
    public static func build(
        _ configuration: MetricsConfig, limits: LimitsConfig, database: MonitoringDatabase, jobTimeout: Duration,
        operations: OperationLedger = OperationLedger(), logger: Logger
    ) async -> MetricsCapability {
        let queue = MetricsWriteQueue(
            capacity: configuration.maxQueueSize, batchSize: configuration.maxMetricsPerBatch,
            capacitySetting: "metrics.max_queue_size")
        let engine = MetricsEngine(queue: queue, logger: logger, options: MetricsEngineOptions(configuration, limits: limits))
        do {
            let recent = try await MetricStore(database: database).latest(
                filter: MetricFilter(since: Date().addingTimeInterval(-restoreWindow.inSeconds)))
            let restored = engine.restore(recent)
            if restored > 0 { logger.info("series restored from storage", metadata: ["series": "\(restored)"]) }
        } catch {
            logger.warning("cannot restore the recent series from storage", metadata: ["error": "\(error)"])
        }
        let writer = MetricsWriter(
            queue: queue, store: MetricStore(database: database), flushInterval: configuration.flushInterval, logger: logger)
        let factory = StepflowMetricsFactory()
        var jobs = [
            BuiltinJob(
                ProcessCollectorJob(engine: engine, operations: operations), every: configuration.collectionInterval, timeout: jobTimeout,
                reportsHealth: true),
            BuiltinJob(
                SwiftMetricsSnapshotJob(factory: factory, engine: engine, logger: logger),
                every: configuration.collectionInterval, timeout: jobTimeout),
            // Series their source stopped reporting leave memory and /metrics (metrics.series_expiry).
            BuiltinJob(
                SeriesExpiryJob(engine: engine), every: SeriesExpiryJob.period(seriesExpiry: engine.options.seriesExpiry),
                timeout: .seconds(30)),
        ]
        var aggregation: AggregationJob?
        if configuration.enableAggregation {
            // Raw samples older than one aggregation_interval are rolled up into interval aggregates.
            let job = AggregationJob(
                store: MetricStore(database: database), interval: configuration.aggregationInterval, logger: logger)
            jobs.append(BuiltinJob(job, every: configuration.aggregationInterval, timeout: .seconds(300), reportsHealth: true))
            aggregation = job
        }
        return MetricsCapability(
            engine: engine, queue: queue, writer: writer, factory: factory, aggregation: aggregation, jobs: jobs)
    }
}
