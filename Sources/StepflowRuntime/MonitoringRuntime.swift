import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StepflowAlerting
import StepflowConfig
import StepflowCore
import StepflowExport
import StepflowHealth
import StepflowLogs
import StepflowMetrics
import StepflowPluginHost
import StepflowScheduling
import StepflowServer
import StepflowStorage
import StepflowTracing
import UnixSignals

/// A plugin the runtime tried to load, and what came of it.
public struct PluginLoadResult: Sendable {
    /// The name used in logs, `/health` (`plugin:<name>`) and self-metrics.
    public var name: String
    /// The configured path and where it was looked up.
    public var configuredPath: String
    public var resolvedPath: String
    /// The descriptor, when the library loaded.
    public var descriptor: PluginDescriptorInfo?
    /// Why the plugin was refused, or `nil` when it is scheduled.
    public var error: String?
}

/// One stepflow-monitor host: storage, the metrics pipeline, the scheduler with its plugins and built-in
/// jobs, health checks and the HTTP API, composed into one swift-service-lifecycle `ServiceGroup`.
///
/// `init` opens the database and loads the plugins (so a bad database fails before anything runs); `run()`
/// serves until SIGINT/SIGTERM or until the group is shut down, then stops scheduling, unloads the plugins,
/// writes every queued sample and returns.
///
/// While it runs, ``reload()`` (SIGHUP in ``run()``, or `POST /api/v1/admin/reload`) re-reads the configuration and
/// applies the changes to `plugins:`.
public final class MonitoringRuntime: Sendable {
    /// The configuration in effect: the one the host started with, with `plugins:` and
    /// `scheduler.default_timeout` as of the last applied reload.
    public var configuration: MonitoringConfiguration { reloader.configuration }
    public let database: MonitoringDatabase
    /// This host's claim on ``database``'s file (`<storage.path>.lock`).
    public let databaseLock: DatabaseLock
    public let engine: MetricsEngine
    public let queue: MetricsWriteQueue
    public let writer: MetricsWriter
    /// The spec's `LogManager`: `monitoring_logs`, its queue and writer.
    public let logs: LogEngine
    public let logWriter: BatchWriter<LogRow, Never>
    /// The spec's `TracingManager`: spans, sampling, `monitoring_traces`, its queue and writer.
    public let traces: TraceEngine
    public let spanWriter: BatchWriter<SpanRow, Never>
    public let scheduler: Scheduler<ContinuousClock>
    public let health: HealthMonitor
    /// The spec's `AlertManager`: rules, alerts, silences (`monitoring_alert_rules`, `monitoring_alerts`).
    public let alerts: AlertEngine
    /// Delivers alert notifications to the configured channels and notifier plugins.
    public let notifier: AlertNotifier
    /// What came of each enabled `plugins:` entry of the configuration in effect, in configuration order.
    public var plugins: [PluginLoadResult] { reloader.results }
    /// Starts, tracks and stops the configured plugins.
    let pluginManager: PluginManager
    /// Starts the configured plugins and applies reloads.
    private let reloader: ConfigurationReloader
    /// A swift-metrics backend feeding this host: `MetricsSystem.bootstrap(runtime.metricsFactory)` sends an
    /// embedding application's counters, gauges, meters, recorders and timers to the store and `/metrics`.
    public let metricsFactory = StepflowMetricsFactory()
    /// A swift-distributed-tracing backend feeding this host: `InstrumentationSystem.bootstrap(runtime.tracer)`
    /// records an embedding application's `withSpan` spans in `monitoring_traces`.
    public var tracer: StepflowTracer { StepflowTracer(engine: traces) }
    /// The HTTP API's bound port, once it listens (useful with `http.port: 0`).
    public let boundAddress = BoundAddress()
    private let telemetry: SelfTelemetry
    private let logger: Logger
    private let services: [any Service]

    /// How far back a start restores series from storage: the alert evaluator's lookback.
    static let restoreWindow: Duration = .seconds(300)

    /// Builds the host from a loaded configuration.
    ///
    /// - Parameters:
    ///   - loaded: The configuration and where it came from; ``reload()`` re-reads the same file (or the
    ///     embedded default when `loaded` is it).
    ///   - environment: The `STEPFLOW_MONITORING_*` variables ``reload()`` applies on top of the file; pass the
    ///     ones `loaded` was read with.
    ///   - logger: Where the host logs.
    /// - Throws: a `MonitoringError` when the database cannot be opened or a job cannot be scheduled.
    ///   A plugin that cannot be loaded does not stop the host: it is logged, reported unhealthy in
    ///   `/health`, and listed with its reason in ``plugins``.
    /// - Parameters:
    ///   - environment: the variables the configuration is re-read with on reload.
    ///   - pluginRunner: the `stepflow-monitor` executable started as `plugin-runner` for plugins with
    ///     `isolation: process`; defaults to the running executable (tests, whose executable is the test
    ///     bundle, pass the built `stepflow-monitor`).
    public init(
        loaded: LoadedConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger, pluginRunner: String = IsolatedPluginInstance.currentExecutable
    ) async throws(MonitoringError) {
        let configuration = loaded.configuration
        self.logger = logger
        logger.info("configuration loaded", metadata: ["source": "\(loaded.source)"])

        // One host per database: a second one is refused here, naming the first one's PID, before it opens anything.
        databaseLock = try DatabaseLock(databasePath: configuration.storage.path)
        database = try MonitoringDatabase(
            path: configuration.storage.path, busyTimeout: configuration.storage.busyTimeout,
            fullSync: configuration.storage.synchronous == "full")
        logger.info(
            "database opened",
            metadata: ["path": "\(database.path)", "migrations": "\((try? database.appliedMigrations())?.joined(separator: ",") ?? "?")"])

        queue = MetricsWriteQueue(
            capacity: configuration.metrics.maxQueueSize, batchSize: configuration.metrics.maxMetricsPerBatch)
        engine = MetricsEngine(queue: queue, logger: logger, options: MetricsEngineOptions(configuration.metrics, limits: configuration.limits))
        // The series written within the lookback window (5 minutes, Prometheus' staleness) come back with their
        // latest values, so a restart neither resolves the alerts on them nor notifies them again.
        do {
            let recent = try await MetricStore(database: database).latest(
                filter: MetricFilter(since: Date().addingTimeInterval(-Self.restoreWindow.inSeconds)))
            let restored = engine.restore(recent)
            if restored > 0 { logger.info("series restored from storage", metadata: ["series": "\(restored)"]) }
        } catch {
            logger.warning("cannot restore the recent series from storage", metadata: ["error": "\(error)"])
        }
        writer = MetricsWriter(
            queue: queue, store: MetricStore(database: database),
            flushInterval: configuration.metrics.flushInterval, logger: logger)
        let logStore = LogStore(database: database)
        let logQueue = LogWriteQueue(capacity: configuration.logs.maxQueueSize, batchSize: 1000)
        logs = LogEngine(
            queue: logQueue, store: logStore, source: configuration.logs.source,
            maxMessageBytes: configuration.logs.maxLogSize,
            backpressureTimeout: configuration.metrics.backpressureTimeout, limits: configuration.limits,
            logger: logger)
        let logAlerts = LogAlertTrigger()
        logWriter = BatchWriter(
            queue: logQueue, name: "logs", flushInterval: configuration.logs.flushInterval, logger: logger,
            afterWrite: { _ in logAlerts.logsWritten() }
        ) { (rows, _) async throws(MonitoringError) in try await logStore.insert(rows) }
        let traceStore = TraceStore(database: database)
        let spanQueue = SpanWriteQueue(capacity: 100_000, batchSize: 1000)
        traces = TraceEngine(
            queue: spanQueue, store: traceStore, sampling: configuration.tracing.enableSampling,
            samplingRate: configuration.tracing.samplingRate, maxDuration: configuration.tracing.maxTraceDuration,
            maxOpenSpans: configuration.tracing.maxOpenSpans, limits: configuration.limits, logger: logger)
        let traceEngine = traces
        spanWriter = BatchWriter(
            queue: spanQueue, name: "spans", flushInterval: configuration.tracing.flushInterval, logger: logger,
            // Spans still open when the host stops are written as cancelled, not lost.
            beforeFinalFlush: { traceEngine.closeAllOpen() }
        ) { (rows, _) async throws(MonitoringError) in try await traceStore.insert(rows) }
        let positions = ExportPositionStore(database: database)
        scheduler = Scheduler(
            clock: ContinuousClock(), maxBackoff: configuration.scheduler.maxBackoff,
            jitter: configuration.scheduler.jitter, breakerFailures: configuration.scheduler.breakerFailures,
            breakerCooldown: configuration.scheduler.breakerCooldown, logger: logger)
        health = HealthMonitor(timeout: configuration.health.checkTimeout)
        let alertConfig = configuration.alerts
        var channels: [any AlertChannel] = []
        if alertConfig.logNotifications { channels.append(LogAlertChannel(logger: logger)) }
        if !alertConfig.webhookURL.isEmpty {
            channels.append(WebhookAlertChannel(url: alertConfig.webhookURL, timeout: alertConfig.notificationTimeout))
        }
        var alertmanager: AlertmanagerAlertChannel?
        if !alertConfig.alertmanagerURL.isEmpty {
            let channel = AlertmanagerAlertChannel(
                baseURL: alertConfig.alertmanagerURL,
                generatorURL: "http://\(configuration.http.address):\(configuration.http.port)/api/v1/alerts/",
                timeout: alertConfig.notificationTimeout)
            channels.append(channel)
            alertmanager = channel
        }
        let managerLater = Later<PluginManager>()
        notifier = AlertNotifier(
            channels: channels, timeout: alertConfig.notificationTimeout, logger: logger,
            afterShutdown: { await managerLater.current?.shutdownUnscheduled() })
        alerts = AlertEngine(
            store: AlertStore(database: database),
            evaluator: AlertQueryEvaluator(engine: engine, metrics: MetricStore(database: database), logs: logStore, health: health),
            notifier: notifier,
            options: AlertEngineOptions(
                evaluationInterval: alertConfig.evaluationInterval, defaultForDuration: alertConfig.defaultForDuration,
                maxAlertsPerRule: alertConfig.maxAlertsPerRule, enableNotifications: alertConfig.enableNotifications,
                enableSilencing: alertConfig.enableSilencing, limits: configuration.limits),
            logger: logger)
        pluginManager = PluginManager(
            scheduler: scheduler, engine: engine, health: health, logger: logger,
            configDirectory: loaded.baseDirectory, defaultTimeout: configuration.scheduler.defaultTimeout,
            retries: configuration.health.checkRetries, pluginRunner: pluginRunner,
            logExport: LogExportSettings(
                store: logStore, positions: positions, enabled: configuration.logs.enableExport,
                interval: configuration.logs.exportInterval),
            notifier: notifier)
        managerLater.set(pluginManager)
        reloader = ConfigurationReloader(
            loaded: loaded, environment: environment, manager: pluginManager, alerts: alerts, logger: logger)
        let aggregation = AggregationJob(
            store: MetricStore(database: database), interval: configuration.metrics.aggregationInterval, logger: logger)
        let retention = RetentionJob(
            metrics: MetricStore(database: database), healthChecks: HealthCheckStore(database: database),
            retentionDays: configuration.metrics.retentionDays,
            logs: (logStore, configuration.logs.retentionDays), traces: (traceStore, configuration.tracing.retentionDays),
            alerts: (AlertStore(database: database), configuration.alerts.retentionDays), logger: logger)
        var fileExport: LogExportJob?
        if configuration.logs.enableExport, !configuration.logs.exportFile.isEmpty {
            let exporter = FileLogExporter(
                path: configuration.logs.exportFile,
                rotationSize: configuration.logs.enableRotation ? configuration.logs.rotationSize : nil,
                compress: configuration.logs.enableCompression, keep: configuration.logs.maxRotatedFiles, logger: logger)
            fileExport = LogExportJob(
                name: "export:file", kind: "builtin", exporter: exporter, store: logStore, positions: positions,
                logger: logger)
        }
        var remoteWrite: RemoteWriteJob?
        if configuration.metrics.enableExport, configuration.exporters.prometheus.enabled {
            remoteWrite = RemoteWriteJob(
                client: RemoteWriteClient(endpoint: configuration.exporters.prometheus.endpoint),
                metrics: MetricStore(database: database), positions: positions,
                timeout: min(configuration.metrics.exportInterval, .seconds(30)), logger: logger)
        }
        telemetry = SelfTelemetry(
            scheduler: scheduler, engine: engine, queue: queue, writer: writer, database: database,
            plugins: pluginManager, retention: retention,
            aggregation: configuration.metrics.enableAggregation ? aggregation : nil,
            logs: logs, logWriter: logWriter, traces: traces, spanWriter: spanWriter, fileExport: fileExport,
            alerts: alerts, notifier: notifier, remoteWrite: remoteWrite)

        let defaultTimeout = configuration.scheduler.defaultTimeout
        let retries = configuration.health.checkRetries
        do {
            // A quick integrity check now (in the background, on the schedule, for a file over 256 MiB), then
            // every storage.integrity_check_interval.
            let integrity = StorageIntegrityJob(database: database, logger: logger)
            if database.fileSize() < 256 << 20 { try? await integrity.run() }
            try scheduler.add(
                integrity,
                schedule: JobSchedule(interval: configuration.storage.integrityCheckInterval, timeout: .seconds(3600)))
            try await health.registerHealthCheck(
                "storage",
                check: StorageHealthCheck(
                    database: database, writer: writer, queue: queue, integrity: integrity,
                    writeFailure: { logQueue.writeFailure ?? spanQueue.writeFailure }))
            try await health.registerHealthCheck("scheduler", check: SchedulerHealthCheck(scheduler: scheduler))

            try scheduler.add(
                ProcessCollectorJob(engine: engine),
                schedule: JobSchedule(interval: configuration.metrics.collectionInterval, timeout: defaultTimeout))
            try await health.registerHealthCheck(
                "process", check: JobHealthCheck(scheduler: scheduler, jobName: "process", retries: retries))
            try scheduler.add(
                HealthCheckJob(monitor: health, store: HealthCheckStore(database: database), logger: logger),
                schedule: JobSchedule(interval: configuration.health.checkInterval, timeout: configuration.health.checkTimeout * 2))
            try scheduler.add(
                SwiftMetricsSnapshotJob(factory: metricsFactory, engine: engine, logger: logger),
                schedule: JobSchedule(interval: configuration.metrics.collectionInterval, timeout: defaultTimeout))
            // Expired rows are deleted hourly, in small transactions (metrics.retention_days; 0 keeps everything).
            try scheduler.add(retention, schedule: JobSchedule(interval: .seconds(3600), timeout: .seconds(300)))
            try await health.registerHealthCheck(
                "retention", check: JobHealthCheck(scheduler: scheduler, jobName: "retention", retries: retries))
            // Spans open past tracing.max_trace_duration are closed as timed out.
            let sweep = max(Duration.seconds(1), min(configuration.tracing.maxTraceDuration / 4, .seconds(30)))
            try scheduler.add(SpanTimeoutJob(engine: traces), schedule: JobSchedule(interval: sweep, timeout: .seconds(30)))
            // Series their source stopped reporting leave memory and /metrics (metrics.series_expiry).
            try scheduler.add(
                SeriesExpiryJob(engine: engine),
                schedule: JobSchedule(
                    interval: SeriesExpiryJob.period(seriesExpiry: engine.options.seriesExpiry), timeout: .seconds(30)))
            if let fileExport {
                try scheduler.add(
                    fileExport, schedule: JobSchedule(interval: configuration.logs.exportInterval, timeout: .seconds(120)))
                try await health.registerHealthCheck(
                    "export:file", check: JobHealthCheck(scheduler: scheduler, jobName: "export:file", retries: retries))
            }
            // Alert rules: those stored (created over the API), then those the configuration declares.
            try await alerts.load()
            do throws(MonitoringError) {
                try await alerts.replaceFileRules(alertConfig.declaredRules)
            } catch {
                logger.error("the declared alert rules were not applied", metadata: ["error": "\(error.message)"])
            }
            logAlerts.attach(alerts)
            // A one-second tick: each rule keeps its own evaluation interval.
            try scheduler.add(
                AlertEvaluationJob(engine: alerts),
                schedule: JobSchedule(interval: .seconds(1), timeout: max(alertConfig.evaluationInterval, .seconds(30))))
            try await health.registerHealthCheck(
                "alerts", check: JobHealthCheck(scheduler: scheduler, jobName: "alerts", retries: retries))
            if let alertmanager {
                await alertmanager.track(try await alerts.getActiveAlerts(filter: nil))
                try scheduler.add(
                    AlertmanagerResendJob(channel: alertmanager),
                    schedule: JobSchedule(interval: alertmanager.resendInterval, timeout: alertConfig.notificationTimeout))
            }
            if let remoteWrite {
                try scheduler.add(
                    remoteWrite,
                    schedule: JobSchedule(
                        interval: configuration.metrics.exportInterval,
                        timeout: max(configuration.metrics.exportInterval, .seconds(30))))
            }
            if configuration.metrics.enableAggregation {
                // Raw samples older than one aggregation_interval are rolled up into interval aggregates.
                try scheduler.add(
                    aggregation,
                    schedule: JobSchedule(interval: configuration.metrics.aggregationInterval, timeout: .seconds(300)))
                try await health.registerHealthCheck(
                    "aggregation", check: JobHealthCheck(scheduler: scheduler, jobName: "aggregation", retries: retries))
            }
        } catch {
            throw .internalError("cannot set up the built-in jobs: \(error)")
        }

        await reloader.startConfiguredPlugins()

        // Stopped in reverse: the scheduler (no more evaluations), then the notifier (delivers what is queued),
        // then the writers.
        // Services stop in reverse order: the lock is given up last, after the writers have flushed.
        var services: [any Service] = [
            DatabaseLockService(lock: databaseLock), writer, logWriter, spanWriter, notifier, scheduler,
        ]
        if configuration.http.enabled {
            let ingestPolicy = IngestPolicy(configuration.http, roomTimeout: configuration.metrics.backpressureTimeout)
            let telemetry = self.telemetry
            let engine = self.engine
            let health = self.health
            let manager = self.pluginManager
            let scheduler = self.scheduler
            let reloader = self.reloader
            let sources = HTTPDataSources(
                metrics: { PrometheusTextEncoder.merge(engine.snapshot(), telemetry.metrics()) },
                health: { await health.checkAll() },
                plugins: {
                    PluginReport.json(
                        running: manager.plugins, refused: reloader.results.filter { $0.error != nil },
                        scheduler: scheduler)
                },
                reload: {
                    let report = await reloader.reload()
                    return (report.httpStatus, report.json.jsonText)
                },
                restartPlugin: { name in
                    let report = await reloader.restart(plugin: name)
                    return (report.httpStatus, report.json.jsonText)
                },
                metricsAPI: MetricsAPI(
                    engine: engine, store: MetricStore(database: database),
                    maxBodyBytes: configuration.http.maxBodySize, ingestPolicy: ingestPolicy,
                    queryTimeout: configuration.http.queryTimeout),
                logTraceAPI: LogTraceAPI(
                    logs: logs, traces: traces, maxBodyBytes: configuration.http.maxBodySize, ingestPolicy: ingestPolicy),
                alertAPI: AlertAPI(engine: alerts, maxBodyBytes: configuration.http.maxBodySize))
            services.append(MonitoringHTTPServer.makeApplication(
                http: configuration.http, sources: sources, boundAddress: boundAddress, logger: logger))
        }
        self.services = services
    }

    /// A swift-log backend feeding this host: `LoggingSystem.bootstrap(runtime.logHandler)` stores an embedding
    /// application's log lines in `monitoring_logs` (the label becomes the component).
    public func logHandler(label: String) -> any LogHandler {
        StepflowLogHandler(label: label, engine: logs)
    }

    /// The series `/metrics` shows: every stored series plus the host's own telemetry.
    public func exposedMetrics() -> [MetricInfo] {
        PrometheusTextEncoder.merge(engine.snapshot(), telemetry.metrics())
    }

    /// Re-reads the configuration from where the host got it (the same file and environment; the embedded
    /// default when it started without a file) and applies it to the running host.
    ///
    /// - `plugins:` entries are matched by `name`, else `path`. Added entries are started, removed ones stopped,
    ///   changed ones (path, isolation, interval, timeout, settings, enabled) stopped and started again with the
    ///   new entry, and unchanged ones left running untouched. `scheduler.default_timeout` is applied to the
    ///   plugins that set no `timeout`. A plugin that fails to start is reported unhealthy in `/health` with its
    ///   reason, as at start-up; the rest of the reload still applies.
    /// - Any other changed setting (storage, HTTP, metrics queue, …) needs a restart: it is logged, listed in
    ///   ``ReloadReport/restartRequired`` and not applied.
    /// - A configuration that does not validate is refused: nothing changes, and every issue is logged and
    ///   listed in ``ReloadReport/errors``.
    /// - The metrics queue and writer are not touched: no sample is lost.
    /// - Reloads run one at a time, in the order they were asked for.
    public func reload() async -> ReloadReport {
        await reloader.reload()
    }

    /// Stops and starts one plugin (`POST /api/v1/plugins/{name}/restart`, `stepflow-monitor plugins restart`),
    /// with its configuration entry as it is and its library file as it is now; the others are untouched.
    public func restartPlugin(_ name: String) async -> ReloadReport {
        await reloader.restart(plugin: name)
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully (HTTP, then the scheduler and plugins,
    /// then the writer flushes the queue). SIGHUP reloads the configuration (``reload()``).
    public func run() async throws {
        // Trapped before the group starts, so that an early SIGHUP cannot terminate the process.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let reloader = self.reloader
        let reloadService = ReloadService(signals: hangups, reload: { await reloader.reload() }, logger: logger)
        logger.info("SIGHUP reloads the configuration")
        let group = ServiceGroup(
            configuration: .init(
                services: services + [reloadService],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("stopped", metadata: ["samples_written": "\(writer.written)", "still_queued": "\(queue.depth)"])
    }

    /// The host's services in start order, for composing into a caller's own `ServiceGroup` (tests do).
    public var serviceList: [any Service] { services }
}
