import Foundation
import Logging
import ServiceLifecycle
import StepflowAlerting
import StepflowCore
import StepflowHealth
import StepflowLogs
import StepflowMetrics
import StepflowPluginHost
import StepflowScheduling
import StepflowSecurity
import StepflowStorage
import Synchronization

/// A plugin the manager started and schedules.
struct ManagedPlugin: Sendable {
    /// The configuration entry it was started from.
    var config: PluginConfig
    /// The instance name (also in the job name `plugin:<name>`).
    var name: String
    var resolvedPath: String
    /// The created instance, in its isolation.
    var collector: any PluginCollector
    /// The library as the host loaded it; `nil` for a process-isolated plugin, which only its runner loads.
    var library: PluginLibrary?
    var schedule: JobSchedule
    /// The collection job of a metrics collector, which enforces the series budget.
    var job: PluginCollectorJob?
    /// The export job of a log exporter (while `logs.enable_export` is on).
    var exportJob: LogExportJob?
    /// The name of its alert channel, for a notifier.
    var channel: String?
    /// The library file's identity when it was started: a reload restarts the plugin when it changed.
    var fileIdentity: FileIdentity? = nil

    /// Every sample of the plugin refused so far, by reason: by the plugin host and, for a collector, by the
    /// metrics engine.
    var refusedSamples: [String: UInt64] {
        if let job { return job.refusedSamples }
        var all: [String: UInt64] = [:]
        for (reason, count) in collector.refusedSamples { all[reason.rawValue, default: 0] += UInt64(max(count, 0)) }
        return all
    }
}

/// Where log-exporter plugins get their entries from.
struct LogExportSettings: Sendable {
    var store: LogStore
    var positions: ExportPositionStore
    /// `logs.enable_export`: off, exporters are started but sent nothing.
    var enabled: Bool
    /// `logs.export_interval`, the schedule of an exporter that sets no `interval`.
    var interval: Duration
}

/// Turns `plugins:` entries into scheduled jobs: resolves the path, loads the library, creates the instance
/// in the configured isolation, schedules it and registers its health check. A plugin that cannot be started
/// is logged and reported unhealthy; it never stops the host.
///
/// As a service it waits for the host's graceful shutdown and then shuts down the plugins no scheduler job owns
/// (notifiers): it comes before the notifier in the service group, so it stops after the last notification.
final class PluginManager: Service, Sendable {
    let scheduler: Scheduler<ContinuousClock>
    let engine: MetricsEngine
    let health: HealthMonitor
    let logger: Logger
    let configDirectory: String?
    let defaultTimeout: Duration
    let retries: Int
    private let running = Mutex<[String: ManagedPlugin]>([:])
    /// The executable started as `plugin-runner` for `isolation: process` plugins.
    let pluginRunner: String
    /// Where log exporters read from; `nil` leaves log-exporter plugins unscheduled.
    let logExport: LogExportSettings?
    /// Where notifier plugins are added as channels; `nil` leaves them unused.
    let notifier: AlertNotifier?
    /// The checks a library file passes before it is loaded (`security.verify_plugin_files`, `plugin_owners`).
    let trust: LibraryTrust
    /// Where the plugins' collections and exports are counted (the host's self-monitoring).
    let operations: OperationLedger?

    init(
        scheduler: Scheduler<ContinuousClock>, engine: MetricsEngine, health: HealthMonitor, logger: Logger,
        configDirectory: String?, defaultTimeout: Duration, retries: Int,
        pluginRunner: String, logExport: LogExportSettings? = nil, notifier: AlertNotifier? = nil,
        trust: LibraryTrust = LibraryTrust(), operations: OperationLedger? = nil
    ) {
        self.operations = operations
        self.trust = trust
        self.logExport = logExport
        self.notifier = notifier
        self.scheduler = scheduler
        self.engine = engine
        self.health = health
        self.logger = logger
        self.configDirectory = configDirectory
        self.defaultTimeout = defaultTimeout
        self.retries = retries
        self.pluginRunner = pluginRunner
    }

    /// Every configured, enabled plugin by name: whether it is loaded (for `stepflow_plugin_up`).
    private let configured = Mutex<[String: Bool]>([:])
    /// Failed loads since start, by plugin and reason (for `stepflow_plugin_load_failures_total`).
    private let failures = Mutex<[String: [String: UInt64]]>([:])

    /// Every configured, enabled plugin, loaded or not, sorted by name.
    var configuredPlugins: [(name: String, loaded: Bool)] {
        configured.withLock { $0.map { ($0.key, $0.value) } }.sorted { $0.name < $1.name }
    }

    /// Failed loads since start: plugin, reason, count.
    var loadFailures: [(plugin: String, reason: String, count: UInt64)] {
        failures.withLock { all in
            all.flatMap { plugin, reasons in reasons.map { (plugin, $0.key, $0.value) } }
        }.sorted { ($0.plugin, $0.reason) < ($1.plugin, $1.reason) }
    }

    /// Whether the library file of the running plugin `name` is no longer the one it was started from (rebuilt,
    /// replaced or overwritten), so that a reload restarts it.
    func libraryChanged(_ name: String) -> Bool {
        guard let plugin = running.withLock({ $0[name] }), let started = plugin.fileIdentity else { return false }
        return FileIdentity(path: plugin.resolvedPath) != started
    }

    /// Drops a plugin that left the configuration from ``configuredPlugins`` (its failure counts stay).
    func forget(_ name: String) {
        _ = configured.withLock { $0.removeValue(forKey: name) }
    }

    /// Why a load failed, as a label value.
    static func reason(of error: any Error) -> String {
        if let error = error as? PluginError { return error.code.identifier }
        if error is PluginStartError { return "no_capability" }
        return "start_failed"
    }

    /// The job and health component name of a plugin instance.
    static func jobName(_ pluginName: String) -> String { "plugin:\(pluginName)" }

    /// The plugins started and scheduled now, sorted by name.
    var plugins: [ManagedPlugin] {
        running.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }

    /// The name of a log exporter's job: the plugin's job name, or `plugin:<name>:export` beside a collection job.
    static func exportJobName(_ pluginName: String, alsoCollects: Bool) -> String {
        alsoCollects ? jobName(pluginName) + ":export" : jobName(pluginName)
    }

    /// How long a series of `plugin` stays after the plugin last reported it: its `stale_after`, else the longer
    /// of `metrics.series_expiry` and twice its interval (`nil`: never, when `series_expiry` is `0s`).
    static func staleAfter(_ plugin: PluginConfig, interval: Duration, seriesExpiry: Duration?) -> Duration? {
        if let staleAfter = plugin.staleAfter { return staleAfter }
        return seriesExpiry.map { max($0, interval * 2) }
    }

    /// Stops one started plugin: unschedules it (its instance is shut down) and drops its health check. With
    /// `removingSeries` (the plugin left the configuration or was disabled) its series leave memory and
    /// `/metrics` at once; a plugin stopped to be started again keeps them.
    func stop(_ name: String, removingSeries: Bool) async {
        forget(name)
        // Before the job goes: a collection in flight that ends now finds its source removed and is dropped.
        if removingSeries { engine.remove(.plugin(name)) }
        guard let plugin = running.withLock({ $0.removeValue(forKey: name) }) else { return }
        if let channel = plugin.channel { await notifier?.remove(channel) }
        if let job = plugin.job { await scheduler.remove(job.name) }
        if let exportJob = plugin.exportJob { await scheduler.remove(exportJob.name) }
        if plugin.job == nil && plugin.exportJob == nil { await plugin.collector.shutdown() }
        try? await health.unregisterHealthCheck(Self.jobName(name))
        // A C plugin is unloaded at once, so that starting it again maps a rebuilt file; a stuck in-process call
        // still runs its code, so then the library is left to close with its last reference.
        if !plugin.collector.isBusy {
            plugin.library?.unload()
        }
        logger.info("plugin stopped", metadata: ["plugin": "\(name)"])
    }

    /// Starts one configured plugin; returns `nil` for a disabled one.
    func start(_ plugin: PluginConfig) async -> PluginLoadResult? {
        guard plugin.enabled else {
            logger.info("plugin disabled in the configuration", metadata: ["plugin": "\(plugin.name ?? plugin.path)"])
            return nil
        }
        let (resolved, tried) = PluginPathResolver.resolve(plugin.path, configDirectory: configDirectory)
        var result = PluginLoadResult(
            name: plugin.name ?? URL(fileURLWithPath: plugin.path).deletingPathExtension().lastPathComponent,
            configuredPath: plugin.path, resolvedPath: resolved, descriptor: nil, error: nil)
        do {
            // A process-isolated plugin is never loaded into the host, not even to read its descriptor: a plugin
            // that crashes while loading must cost only a runner.
            let library: PluginLibrary?
            let info: PluginDescriptorInfo
            try PluginVerification.verify(plugin, resolvedPath: resolved, trust: trust)
            switch plugin.isolation {
            case .inProcess:
                let loaded = try PluginLibrary.load(path: resolved)
                (library, info) = (loaded, loaded.info)
            case .process:
                library = nil
                info = try await IsolatedPluginInstance.describe(
                    path: resolved, runnerExecutable: pluginRunner, limits: plugin.limits,
                    timeout: plugin.timeout ?? defaultTimeout, logger: logger)
            }
            result.descriptor = info
            let name = plugin.name ?? info.name
            result.name = name
            let collects = info.capabilities.contains(.metricsCollector)
            let exports = info.capabilities.contains(.logExporter)
            let notifies = info.capabilities.contains(.alertNotifier)
            guard collects || exports || notifies else {
                throw PluginStartError("declares no capability this host knows (capabilities: \(info.capabilities))")
            }
            let collector = try await makeCollector(library: library, info: info, plugin: plugin, name: name)
            let interval = plugin.interval ?? (collects ? info.defaultInterval : logExport?.interval ?? info.defaultInterval)
            let timeout = plugin.timeout ?? defaultTimeout
            let schedule = JobSchedule(interval: interval, timeout: timeout)
            var job: PluginCollectorJob?
            if collects {
                engine.register(
                    .plugin(name),
                    policy: MetricSourcePolicy(
                        staleAfter: Self.staleAfter(plugin, interval: interval, seriesExpiry: engine.options.seriesExpiry),
                        maxSeries: plugin.budgets.series))
                let collection = PluginCollectorJob(
                    name: Self.jobName(name), instance: collector, engine: engine, logger: logger, shutdownGrace: timeout,
                    labels: plugin.labels, operations: operations)
                try scheduler.add(collection, schedule: schedule)
                job = collection
            }
            var exportJob: LogExportJob?
            if exports, let logExport, logExport.enabled {
                let export = LogExportJob(
                    name: Self.exportJobName(name, alsoCollects: collects), kind: "plugin",
                    exporter: PluginLogExporter(name: Self.jobName(name), instance: collector), store: logExport.store,
                    positions: logExport.positions, byteBudget: plugin.budgets.logBytesPerBatch,
                    operations: operations, logger: logger)
                do {
                    try scheduler.add(
                        export, schedule: JobSchedule(interval: plugin.interval ?? logExport.interval, timeout: timeout))
                } catch {
                    if let job { await scheduler.remove(job.name) } else { await collector.shutdown() }
                    throw error
                }
                exportJob = export
            }
            var channel: String?
            if notifies, let notifier {
                notifier.add(PluginAlertChannel(name: Self.jobName(name), instance: collector))
                channel = Self.jobName(name)
            }
            running.withLock {
                $0[name] = ManagedPlugin(
                    config: plugin, name: name, resolvedPath: resolved, collector: collector, library: library,
                    schedule: schedule, job: job, exportJob: exportJob, channel: channel,
                    fileIdentity: library?.fileIdentity ?? FileIdentity(path: resolved))
            }
            let details: [String: JSONValue] = [
                "path": .string(resolved), "version": .string(info.version),
                "isolation": .string(collector.isolation.rawValue),
            ]
            if let job {
                try? await health.registerHealthCheck(
                    job.name,
                    check: PluginHealthCheck(
                        job: JobHealthCheck(scheduler: scheduler, jobName: job.name, retries: retries, details: details),
                        collector: collector, pluginJob: job))
            } else if let exportJob {
                try? await health.registerHealthCheck(
                    Self.jobName(name),
                    check: JobHealthCheck(scheduler: scheduler, jobName: exportJob.name, retries: retries, details: details))
            } else {
                let role = channel != nil
                    ? "loaded; receives alert notifications"
                    : notifies
                        ? "loaded; alerts are off in this host, so this notifier is sent nothing"
                        : "loaded; logs.enable_export is off, so this log exporter is sent nothing"
                try? await health.registerHealthCheck(
                    Self.jobName(name),
                    check: FixedHealthCheck(HealthStatus(component: Self.jobName(name), status: .healthy, message: role, details: details)))
            }
            configured.withLock { $0[name] = true }
            logger.info(
                "plugin loaded",
                metadata: [
                    "plugin": "\(name)", "path": "\(resolved)", "version": "\(info.version)",
                    "isolation": "\(collector.isolation.rawValue)", "interval": "\(interval)", "timeout": "\(timeout)",
                ])
        } catch {
            var message = "\(error)"
            if !FileManager.default.fileExists(atPath: resolved) {
                message += " (looked in: \(tried.joined(separator: ", ")); the example plugins are built by `swift build`)"
            }
            result.error = message
            let reason = Self.reason(of: error)
            configured.withLock { $0[result.name] = false }
            failures.withLock { $0[result.name, default: [:]][reason, default: 0] += 1 }
            logger.error(
                "plugin refused", metadata: ["plugin": "\(result.name)", "path": "\(plugin.path)", "reason": "\(message)"])
            try? await health.registerHealthCheck(
                Self.jobName(result.name),
                check: FixedHealthCheck(HealthStatus(
                    component: Self.jobName(result.name), status: .unhealthy, message: "not loaded: \(message)",
                    details: ["path": .string(plugin.path)])))
        }
        return result
    }

    func run() async throws {
        try? await gracefulShutdown()
        await shutdownUnscheduled()
    }

    /// Shuts down the plugins no scheduler job owns (notifiers): at host shutdown, after the last notification.
    func shutdownUnscheduled() async {
        let unscheduled = running.withLock { running in
            running.values.filter { $0.job == nil && $0.exportJob == nil }
        }
        for plugin in unscheduled { await plugin.collector.shutdown() }
    }

    /// Creates the instance in the isolation the configuration asks for (`library` is loaded only in-process).
    func makeCollector(
        library: PluginLibrary?, info: PluginDescriptorInfo, plugin: PluginConfig, name: String
    ) async throws -> any PluginCollector {
        switch (plugin.isolation, library) {
        case (.inProcess, let library?):
            return try await PluginInstance(
                library: library, name: name, settings: plugin.settings, logger: logger,
                sampleBudget: plugin.budgets.metricsPerCollection)
        case (.inProcess, nil):
            throw PluginStartError("an in-process plugin needs its library loaded in the host")
        case (.process, _):
            return try await IsolatedPluginInstance(
                info: info, name: name, settings: plugin.settings, limits: plugin.limits,
                sampleBudget: plugin.budgets.metricsPerCollection, runnerExecutable: pluginRunner, logger: logger)
        }
    }
}

/// Why a plugin was not started, beyond what the plugin host reports.
struct PluginStartError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
