import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StepflowAlerting
import StepflowConfig
import StepflowCore
import StepflowExport
import StepflowHealth
import StepflowIngest
import StepflowLogs
import StepflowMetrics
import StepflowPluginHost
import StepflowProfiler
import StepflowScheduling
import StepflowSecurity
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
    /// The database, the host's lock on it, retention and the integrity check.
    public let storage: StorageCapability
    /// The metrics engine, its queue and writer, the swift-metrics backend.
    public let metrics: MetricsCapability
    /// The spec's `LogManager`: `monitoring_logs`, its queue and writer.
    public let logs: LogsCapability
    /// The spec's `TracingManager`: spans, sampling, `monitoring_traces`, its queue and writer.
    public let tracing: TracingCapability
    /// The spec's `AlertManager` (rules, alerts, silences) and the notifier.
    public let alerting: AlertingCapability
    public let scheduler: Scheduler<ContinuousClock>
    public var health: HealthMonitor { healthCapability.monitor }
    /// What came of each enabled `plugins:` entry of the configuration in effect, in configuration order.
    public var plugins: [PluginLoadResult] { reloader.results }
    /// The HTTP API's bound port, once it listens (useful with `http.port: 0`).
    public let boundAddress = BoundAddress()
    /// A swift-metrics backend feeding this host: `MetricsSystem.bootstrap(runtime.metricsFactory)` sends an
    /// embedding application's counters, gauges, meters, recorders and timers to the store and `/metrics`.
    public var metricsFactory: StepflowMetricsFactory { metrics.factory }
    /// A swift-distributed-tracing backend feeding this host: `InstrumentationSystem.bootstrap(runtime.tracer)`
    /// records an embedding application's `withSpan` spans in `monitoring_traces`.
    public var tracer: StepflowTracer { tracing.tracer }
    /// The spec's `MonitoringMonitoring`: what the host's pipelines (and the embedding application) report, and
    /// the host's own series (docs/profiler.md, "Self-monitoring").
    public let monitoring: RuntimeMonitoring
    /// The profiling API: `runtime.profiler.measure("name") { … }` times a block into
    /// `stepflow_profile_duration_seconds{name}` and, inside a span, adds an event (docs/profiler.md).
    public let profiler: Profiler
    private let healthCapability: HealthCapability
    /// Starts, tracks and stops the configured plugins.
    let pluginManager: PluginManager
    /// Starts the configured plugins and applies reloads.
    private let reloader: ConfigurationReloader
    private let telemetry: SelfTelemetry
    /// `GET /api/v1/profile`.
    private let profileReport: ProfileReport
    /// The remote-write receiver and the ingest counters.
    private let ingest: IngestCapability
    /// The HTTP API's tokens and roles (`security:`, `http.auth_token`).
    private let access: AccessControl
    /// The HTTP API's abuse limits and their counters.
    private let requestLimits: RequestLimits
    /// The server's certificate when `http.tls` is set; re-read on each reload.
    private let certificates: ServerCertificates?
    private let logger: Logger
    private let services: [any Service]

    /// Builds the host from a loaded configuration: each capability from its section (the README's architecture
    /// section draws them), then one scheduler for their jobs and the plugins, then the HTTP API.
    ///
    /// - Parameters:
    ///   - loaded: The configuration and where it came from; ``reload()`` re-reads the same file (or the
    ///     embedded default when `loaded` is it).
    ///   - environment: The `STEPFLOW_MONITORING_*` variables ``reload()`` applies on top of the file; pass the
    ///     ones `loaded` was read with.
    ///   - logger: Where the host logs.
    ///   - pluginRunner: the `stepflow-monitor` executable started as `plugin-runner` for plugins with
    ///     `isolation: process`; defaults to the running executable (tests, whose executable is the test
    ///     bundle, pass the built `stepflow-monitor`).
    /// - Throws: a `MonitoringError` when the database cannot be opened or a job cannot be scheduled.
    ///   A plugin that cannot be loaded does not stop the host: it is logged, reported unhealthy in
    ///   `/health`, and listed with its reason in ``plugins``.
    public init(
        loaded: LoadedConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger, pluginRunner: String = IsolatedPluginInstance.currentExecutable
    ) async throws(MonitoringError) {
        let configuration = loaded.configuration
        self.logger = logger
        logger.info("configuration loaded", metadata: ["source": "\(loaded.source)"])
        for warning in ExporterPlan.warnings(loaded.configuration) {
            logger.warning("export settings without effect", metadata: ["detail": "\(warning)"])
        }
        do {
            access = try AccessControl(
                security: configuration.security, authToken: configuration.http.authToken, environment: environment)
        } catch {
            throw MonitoringError(.configurationError, "\(error)", hint: "fix the token's source, or remove the token")
        }
        requestLimits = RequestLimits(security: configuration.security, http: configuration.http)
        certificates = configuration.http.tls.isEnabled ? try ServerCertificates(configuration.http.tls) : nil
        if let certificates { Self.warnIfExpiring(certificates.notValidAfter, logger: logger) }
        let redactor = try Redactor(security: configuration.security)
        let pluginOwners: Set<UInt32>
        switch LibraryTrust.owners(from: configuration.security.pluginOwners) {
        case .success(let owners): pluginOwners = owners
        case .failure(let error): throw MonitoringError(.configurationError, "security.plugin_owners: \(error)")
        }

        storage = try await StorageCapability.build(
            configuration.storage,
            retention: RetentionPolicy(
                metricsDays: configuration.metrics.retentionDays, logsDays: configuration.logs.retentionDays,
                tracesDays: configuration.tracing.retentionDays, alertsDays: configuration.alerts.retentionDays),
            logger: logger)
        let database = storage.database
        let operations = OperationLedger()
        metrics = await MetricsCapability.build(
            configuration.metrics, limits: configuration.limits, database: database,
            jobTimeout: configuration.scheduler.defaultTimeout, operations: operations, logger: logger)
        logs = LogsCapability.build(
            configuration.logs, limits: configuration.limits, backpressureTimeout: configuration.metrics.backpressureTimeout,
            database: database, positions: storage.positions, redactor: redactor, operations: operations, logger: logger)
        let profilerCapability = try ProfilerCapability.build(configuration.profiler, metrics: metrics.engine)
        profiler = profilerCapability.profiler
        tracing = TracingCapability.build(
            configuration.tracing, limits: configuration.limits, database: database, redactor: redactor,
            spanObserver: profilerCapability.spans, operations: operations, logger: logger)
        healthCapability = HealthCapability.build(configuration.health, database: database, logger: logger)
        // Added to everything that leaves the host, never to what is stored (docs/exporters.md, "External labels").
        let externalLabels = configuration.exporters.externalLabels(hostname: ProcessInfo.processInfo.hostName)
        alerting = try await AlertingCapability.build(
            configuration.alerts, limits: configuration.limits,
            generatorURL: "\(configuration.http.tls.isEnabled ? "https" : "http")://\(configuration.http.address):\(configuration.http.port)/api/v1/alerts/",
            database: database, metrics: metrics.engine, health: healthCapability.monitor, logsWritten: logs.written,
            redactor: redactor, externalLabels: externalLabels, operations: operations, logger: logger)
        let export = try ExportCapability.build(
            configuration.exporters, metrics: configuration.metrics, logs: configuration.logs, tracing: configuration.tracing,
            database: database, positions: storage.positions, externalLabels: externalLabels,
            operations: operations, logger: logger)
        let ingest = IngestCapability.build(
            http: configuration.http, metrics: configuration.metrics, engine: metrics.engine, logs: logs.engine,
            traces: tracing.engine, logger: logger)
        self.ingest = ingest

        scheduler = Scheduler(
            clock: ContinuousClock(), maxBackoff: configuration.scheduler.maxBackoff,
            jitter: configuration.scheduler.jitter, breakerFailures: configuration.scheduler.breakerFailures,
            breakerCooldown: configuration.scheduler.breakerCooldown, logger: logger)
        pluginManager = PluginManager(
            scheduler: scheduler, engine: metrics.engine, health: healthCapability.monitor, logger: logger,
            configDirectory: loaded.baseDirectory, defaultTimeout: configuration.scheduler.defaultTimeout,
            retries: configuration.health.checkRetries, pluginRunner: pluginRunner,
            logExport: LogExportSettings(
                store: logs.store, positions: storage.positions, enabled: configuration.logs.enableExport,
                interval: configuration.logs.exportInterval),
            notifier: alerting.notifier,
            trust: LibraryTrust(enabled: configuration.security.verifyPluginFiles, owners: pluginOwners),
            operations: operations)
        reloader = ConfigurationReloader(
            loaded: loaded, environment: environment, manager: pluginManager, alerts: alerting.engine,
            certificates: certificates, logger: logger)
        telemetry = SelfTelemetry(
            scheduler: scheduler, plugins: pluginManager, storage: storage, metrics: metrics, logs: logs,
            tracing: tracing, alerting: alerting, export: export, profiler: profilerCapability, requestLimits: requestLimits,
            operations: operations, ingest: ingest.statistics)
        monitoring = RuntimeMonitoring(operations: operations, telemetry: telemetry, engine: metrics.engine)
        let history = UsageHistory()
        let (metricsQueue, logQueue, spanQueue) = (metrics.queue, logs.queue, tracing.queue)
        let profileReport = ProfileReport(
            telemetry: telemetry,
            queues: [
                .init(name: "metrics", capacity: metricsQueue.capacity, rowBytes: MemoryLayout<MetricRow>.stride,
                      depth: { metricsQueue.depth }, dropped: { metricsQueue.dropped }, lag: { metricsQueue.lag }),
                // Rows of logs and spans hold their text: a few hundred bytes each, roughly.
                .init(name: "logs", capacity: logQueue.capacity, rowBytes: MemoryLayout<LogRow>.stride + 256,
                      depth: { logQueue.depth }, dropped: { logQueue.dropped }, lag: { logQueue.lag }),
                .init(name: "spans", capacity: spanQueue.capacity, rowBytes: MemoryLayout<SpanRow>.stride + 384,
                      depth: { spanQueue.depth }, dropped: { spanQueue.dropped }, lag: { spanQueue.lag }),
            ],
            history: history, processGroups: profilerCapability.processes, started: .now)
        self.profileReport = profileReport

        let jobs = storage.jobs + metrics.jobs + logs.jobs + tracing.jobs + healthCapability.jobs + alerting.jobs
            + profilerCapability.jobs + export.jobs
            + [BuiltinJob(
                MemoryReleaseJob(database: database, logger: logger), every: ReleaseCadence.checkInterval,
                timeout: .seconds(30)),
               // The host's own series, stored like any other (docs/profiler.md, "Self-monitoring").
               BuiltinJob(
                SelfTelemetryJob(telemetry: telemetry, engine: metrics.engine),
                every: configuration.metrics.collectionInterval, timeout: configuration.scheduler.defaultTimeout),
               // CPU counters every 10 s, for "the last minute" of GET /api/v1/profile.
               BuiltinJob(
                UsageSampleJob(history: history, snapshot: { profileReport.snapshot() }), every: UsageHistory.interval,
                timeout: .seconds(30))]
        do {
            try scheduler.add(jobs)
        } catch {
            throw .internalError("cannot schedule the built-in jobs: \(error)")
        }
        try await healthCapability.watch(jobs, on: scheduler)
        for exporter in export.documentExporters {
            try await healthCapability.monitor.registerHealthCheck(
                exporter.name,
                check: ExportHealthCheck(
                    base: JobHealthCheck(scheduler: scheduler, jobName: exporter.name, retries: configuration.health.checkRetries),
                    exporter: exporter))
        }
        try await healthCapability.monitor.registerHealthCheck(
            "storage",
            check: StorageHealthCheck(
                database: database, writer: metrics.writer, queue: metrics.queue, integrity: storage.integrity,
                writeFailure: { logQueue.writeFailure ?? spanQueue.writeFailure }))
        try await healthCapability.monitor.registerHealthCheck("scheduler", check: SchedulerHealthCheck(scheduler: scheduler))

        await reloader.startConfiguredPlugins()

        // Services stop in reverse order: HTTP, the scheduler (no more evaluations or plugin calls), the notifier
        // (delivers what is queued), the plugins it used, the writers, and last the lock on the database.
        var services: [any Service] = storage.services + metrics.services + logs.services + tracing.services
        services += [pluginManager] + alerting.services + [scheduler]
        if configuration.http.enabled {
            services.append(try Self.makeHTTPApplication(
                configuration, storage: storage, metrics: metrics, logs: logs, tracing: tracing, alerting: alerting,
                health: healthCapability.monitor, plugins: pluginManager, reloader: reloader, telemetry: telemetry, profile: profileReport,
                ingest: ingest, access: access, limits: requestLimits, certificates: certificates, boundAddress: boundAddress,
                logger: logger))
        }
        self.services = services
    }

    /// A swift-log backend feeding this host: `LoggingSystem.bootstrap(runtime.logHandler)` stores an embedding
    /// application's log lines in `monitoring_logs` (the label becomes the component).
    public func logHandler(label: String) -> any LogHandler {
        StepflowLogHandler(label: label, engine: logs.engine)
    }

    /// The series `/metrics` shows: every stored series plus the host's own telemetry.
    public func exposedMetrics() -> [MetricInfo] {
        PrometheusTextEncoder.merge(metrics.engine.snapshot(), telemetry.metrics())
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
        logger.info(
            "stopped", metadata: ["samples_written": "\(metrics.writer.written)", "still_queued": "\(metrics.queue.depth)"])
    }

    /// The host's services in start order, for composing into a caller's own `ServiceGroup` (tests do).
    public var serviceList: [any Service] { services }

    /// The HTTP API of this host as a Hummingbird application of its own (tests drive it with HummingbirdTesting's
    /// router mode, without a socket); the one the host serves is made in `init`.
    package func makeHTTPApplication() throws(MonitoringError) -> some ApplicationProtocol {
        try Self.makeHTTPApplication(
            configuration, storage: storage, metrics: metrics, logs: logs, tracing: tracing, alerting: alerting,
            health: health, plugins: pluginManager, reloader: reloader, telemetry: telemetry, profile: profileReport,
            ingest: ingest, access: access, limits: requestLimits, certificates: nil, boundAddress: BoundAddress(), logger: logger)
    }

    /// Logs a warning when the server's certificate has expired or expires within two weeks.
    static func warnIfExpiring(_ notValidAfter: Date, now: Date = Date(), logger: Logger) {
        let left = notValidAfter.timeIntervalSince(now)
        if left <= 0 {
            logger.error(
                "the HTTPS certificate has expired: clients will refuse it; replace http.tls.certificate and send SIGHUP",
                metadata: ["expired": "\(notValidAfter.rfc3339Seconds)"])
        } else if left < 14 * 86_400 {
            logger.warning(
                "the HTTPS certificate expires soon; replace http.tls.certificate and send SIGHUP",
                metadata: ["expires": "\(notValidAfter.rfc3339Seconds)"])
        }
    }

    /// The HTTP API's routes, each with what it needs from its caller, over this host (for tests that enumerate
    /// them).
    package func makeHTTPRouter() -> SecuredRouter {
        MonitoringHTTPServer.makeRouter(
            http: configuration.http, access: access, limits: requestLimits,
            sources: Self.httpSources(
                configuration, storage: storage, metrics: metrics, logs: logs, tracing: tracing, alerting: alerting,
                health: health, plugins: pluginManager, reloader: reloader, telemetry: telemetry, profile: profileReport,
                ingest: ingest))
    }

    /// The HTTP API over the host's capabilities.
    private static func makeHTTPApplication(
        _ configuration: MonitoringConfiguration, storage: StorageCapability, metrics: MetricsCapability,
        logs: LogsCapability, tracing: TracingCapability, alerting: AlertingCapability, health: HealthMonitor,
        plugins manager: PluginManager, reloader: ConfigurationReloader, telemetry: SelfTelemetry, profile: ProfileReport,
        ingest: IngestCapability, access: AccessControl, limits: RequestLimits, certificates: ServerCertificates?, boundAddress: BoundAddress,
        logger: Logger
    ) throws(MonitoringError) -> some ApplicationProtocol {
        try MonitoringHTTPServer.makeApplication(
            http: configuration.http, access: access, limits: limits,
            sources: httpSources(
                configuration, storage: storage, metrics: metrics, logs: logs, tracing: tracing, alerting: alerting,
                health: health, plugins: manager, reloader: reloader, telemetry: telemetry, profile: profile,
                ingest: ingest),
            certificates: certificates, boundAddress: boundAddress, logger: logger)
    }

    /// What the HTTP API reads from and does to the host.
    private static func httpSources(
        _ configuration: MonitoringConfiguration, storage: StorageCapability, metrics: MetricsCapability,
        logs: LogsCapability, tracing: TracingCapability, alerting: AlertingCapability, health: HealthMonitor,
        plugins manager: PluginManager, reloader: ConfigurationReloader, telemetry: SelfTelemetry, profile: ProfileReport,
        ingest: IngestCapability
    ) -> HTTPDataSources {
        let ingestPolicy = IngestPolicy(configuration.http, roomTimeout: configuration.metrics.backpressureTimeout)
        let (engine, scheduler) = (metrics.engine, manager.scheduler)
        let sources = HTTPDataSources(
            metrics: { PrometheusTextEncoder.merge(engine.snapshot(), telemetry.metrics()) },
            telemetry: { telemetry.metrics() },
            health: { await health.checkAll() },
            plugins: {
                PluginReport.json(
                    running: manager.plugins, refused: reloader.results.filter { $0.error != nil }, scheduler: scheduler)
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
                engine: engine, store: MetricStore(database: storage.database),
                maxBodyBytes: configuration.http.maxBodySize, ingestPolicy: ingestPolicy,
                queryTimeout: configuration.http.queryTimeout, statistics: ingest.statistics),
            logTraceAPI: LogTraceAPI(
                logs: logs.engine, traces: tracing.engine, maxBodyBytes: configuration.http.maxBodySize,
                ingestPolicy: ingestPolicy, statistics: ingest.statistics),
            alertAPI: AlertAPI(engine: alerting.engine, maxBodyBytes: configuration.http.maxBodySize),
            audit: AuditTrail(logs: logs.engine),
            profile: { profile.json() },
            remoteWrite: ingest.remoteWrite, otlp: ingest.otlp, ingestStatistics: ingest.statistics)
        return sources
    }
}
