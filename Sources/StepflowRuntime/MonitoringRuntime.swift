import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowMonitoring
import StepflowPluginHost
import StepflowScheduling
import StepflowServer
import StepflowStorage

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
public final class MonitoringRuntime: Sendable {
    public let configuration: MonitoringConfiguration
    public let database: MonitoringDatabase
    public let engine: MetricsEngine
    public let queue: MetricsWriteQueue
    public let writer: MetricsWriter
    public let scheduler: Scheduler<ContinuousClock>
    public let health: HealthMonitor
    public let plugins: [PluginLoadResult]
    /// The HTTP API's bound port, once it listens (useful with `http.port: 0`).
    public let boundAddress = BoundAddress()
    private let telemetry: SelfTelemetry
    private let logger: Logger
    private let services: [any Service]

    /// Builds the host from a loaded configuration.
    ///
    /// - Throws: a `MonitoringError` when the database cannot be opened or a job cannot be scheduled.
    ///   A plugin that cannot be loaded does not stop the host: it is logged, reported unhealthy in
    ///   `/health`, and listed with its reason in ``plugins``.
    /// - Parameter pluginRunner: the `stepflow-monitor` executable started as `plugin-runner` for plugins with
    ///   `isolation: process`; defaults to the running executable (tests, whose executable is the test bundle,
    ///   pass the built `stepflow-monitor`).
    public init(
        loaded: LoadedConfiguration, logger: Logger,
        pluginRunner: String = IsolatedPluginInstance.currentExecutable
    ) async throws(MonitoringError) {
        let configuration = loaded.configuration
        self.configuration = configuration
        self.logger = logger
        logger.info("configuration loaded", metadata: ["source": "\(loaded.source)"])

        database = try MonitoringDatabase(path: configuration.storage.path, busyTimeout: configuration.storage.busyTimeout)
        logger.info(
            "database opened",
            metadata: ["path": "\(database.path)", "migrations": "\((try? database.appliedMigrations())?.joined(separator: ",") ?? "?")"])

        queue = MetricsWriteQueue(
            capacity: configuration.metrics.maxQueueSize, batchSize: configuration.metrics.maxMetricsPerBatch)
        engine = MetricsEngine(queue: queue, logger: logger)
        writer = MetricsWriter(
            queue: queue, store: MetricStore(database: database),
            flushInterval: configuration.metrics.flushInterval, logger: logger)
        scheduler = Scheduler(
            clock: ContinuousClock(), maxBackoff: configuration.scheduler.maxBackoff,
            jitter: configuration.scheduler.jitter, logger: logger)
        health = HealthMonitor(timeout: configuration.health.checkTimeout)
        telemetry = SelfTelemetry(scheduler: scheduler, engine: engine, queue: queue, writer: writer, database: database)

        let defaultTimeout = configuration.scheduler.defaultTimeout
        let retries = configuration.health.checkRetries
        do {
            try await health.registerHealthCheck(
                "storage", check: StorageHealthCheck(database: database, writer: writer, queue: queue))
            try await health.registerHealthCheck("scheduler", check: SchedulerHealthCheck(scheduler: scheduler))

            try scheduler.add(
                ProcessCollectorJob(engine: engine),
                schedule: JobSchedule(interval: configuration.metrics.collectionInterval, timeout: defaultTimeout))
            try await health.registerHealthCheck(
                "process", check: JobHealthCheck(scheduler: scheduler, jobName: "process", retries: retries))
            try scheduler.add(
                HealthCheckJob(monitor: health, store: HealthCheckStore(database: database), logger: logger),
                schedule: JobSchedule(interval: configuration.health.checkInterval, timeout: configuration.health.checkTimeout * 2))
        } catch {
            throw .internalError("cannot set up the built-in jobs: \(error)")
        }

        let manager = PluginManager(
            scheduler: scheduler, engine: engine, health: health, logger: logger,
            configDirectory: loaded.baseDirectory, defaultTimeout: defaultTimeout, retries: retries,
            pluginRunner: pluginRunner)
        var results: [PluginLoadResult] = []
        for plugin in configuration.plugins {
            if let result = await manager.start(plugin) { results.append(result) }
        }
        plugins = results

        var services: [any Service] = [writer, scheduler]
        if configuration.http.enabled {
            let telemetry = self.telemetry
            let engine = self.engine
            let health = self.health
            let sources = HTTPDataSources(
                metrics: { engine.snapshot() + telemetry.metrics() },
                health: { await health.checkAll() })
            services.append(MonitoringHTTPServer.makeApplication(
                address: configuration.http.address, port: configuration.http.port, sources: sources,
                boundAddress: boundAddress, logger: logger))
        }
        self.services = services
    }

    /// The series `/metrics` shows: every stored series plus the host's own telemetry.
    public func exposedMetrics() -> [MetricInfo] {
        engine.snapshot() + telemetry.metrics()
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully (HTTP, then the scheduler and plugins,
    /// then the writer flushes the queue).
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("stopped", metadata: ["samples_written": "\(writer.written)", "still_queued": "\(queue.depth)"])
    }

    /// The host's services in start order, for composing into a caller's own `ServiceGroup` (tests do).
    public var serviceList: [any Service] { services }
}
