import Foundation
import Logging
import StepflowAlerting
import StepflowConfig
import StepflowCore
import StepflowServer
import Synchronization

/// Starts the configured plugins, and on each reload re-reads the configuration from where the host got it and
/// applies the difference in `plugins:`.
///
/// - Plugins are matched by ``PluginSlot/keyed(_:defaultTimeout:)`` (`name`, else `path`). A new entry is
///   started; a removed one is stopped; a changed one (path, isolation, interval, timeout, settings, enabled, or
///   a changed `scheduler.default_timeout` it relies on) is stopped, then started with the new entry; an entry
///   whose start failed before is tried again; an unchanged one is not touched (same instance, same counters).
/// - Every stop comes before every start, so a name freed by one entry can be taken by another.
/// - Stopping removes the job from the scheduler, which destroys the plugin instance; a C plugin's library is then
///   unloaded, so restarting it maps a rebuilt file. Swift plugins stay mapped (docs/plugins.md, rule 8: unmapping one crashes
///   the host), so a rebuilt Swift plugin runs its new code only with `isolation: process` or after a restart.
/// - Other settings are not applied: the changed ones are logged and reported as needing a restart.
/// - The metrics queue, writer and engine are never touched, so no sample is lost.
/// - Reloads run one at a time, in the order they were asked for; each runs to its end even when the caller is
///   cancelled, so a dropped HTTP connection cannot leave a reload half done.
final class ConfigurationReloader: Sendable {
    private struct State {
        /// The configuration in effect: the start-up one with `plugins` and `scheduler.default_timeout` replaced
        /// by each applied reload.
        var configuration: MonitoringConfiguration
        var slots: [PluginSlot] = []
    }

    /// The file to re-read, or `nil` for the embedded default.
    private let path: String?
    private let source: String
    private let environment: [String: String]
    /// The configuration the host started with: what the non-reloadable settings are compared with.
    private let startup: MonitoringConfiguration
    private let manager: PluginManager
    /// Where the declared alert rules are applied; `nil` in a host without alerting.
    private let alerts: AlertEngine?
    /// The server's certificate (`http.tls`), re-read on each reload.
    private let certificates: ServerCertificates?
    private let logger: Logger
    private let state: Mutex<State>
    /// The last reload asked for; the next one waits for it.
    private let tail = Mutex<Task<ReloadReport, Never>?>(nil)

    /// The settings a reload applies besides `plugins:`.
    static let reloadableSettings: Set<String> = ["scheduler.default_timeout"]

    init(
        loaded: LoadedConfiguration, environment: [String: String], manager: PluginManager, alerts: AlertEngine? = nil,
        certificates: ServerCertificates? = nil, logger: Logger
    ) {
        self.alerts = alerts
        self.certificates = certificates
        path = loaded.source == ConfigurationLoader.embeddedSourceName ? nil : loaded.source
        source = loaded.source
        self.environment = environment
        startup = loaded.configuration
        self.manager = manager
        self.logger = logger
        state = Mutex(State(configuration: loaded.configuration))
    }

    /// The configuration in effect now.
    var configuration: MonitoringConfiguration { state.withLock { $0.configuration } }

    /// What came of each enabled entry, in configuration order.
    var results: [PluginLoadResult] { state.withLock { $0.slots.compactMap(\.result) } }

    /// Starts the plugins of the start-up configuration (called once, before any reload).
    func startConfiguredPlugins() async {
        var slots: [PluginSlot] = []
        for (key, entry) in PluginSlot.keyed(startup.plugins, defaultTimeout: startup.scheduler.defaultTimeout) {
            slots.append(PluginSlot(key: key, entry: entry, result: await manager.start(entry)))
        }
        state.withLock { $0.slots = slots }
    }

    /// Re-reads the configuration and applies it; waits for a reload already running to finish first.
    func reload() async -> ReloadReport {
        await serialized { await self.apply() }
    }

    /// Stops and starts the one plugin named `name` with its entry as it is (and its library file as it is now),
    /// after any reload already running; the others are untouched.
    func restart(plugin name: String) async -> ReloadReport {
        await serialized { await self.applyRestart(of: name) }
    }

    /// Runs `work` after every reload or restart started before it.
    private func serialized(_ work: @escaping @Sendable () async -> ReloadReport) async -> ReloadReport {
        let task = tail.withLock { tail -> Task<ReloadReport, Never> in
            let previous = tail
            let next = Task {
                _ = await previous?.value
                return await work()
            }
            tail = next
            return next
        }
        return await task.value
    }

    private func applyRestart(of name: String) async -> ReloadReport {
        var report = ReloadReport(source: source)
        let slots = state.withLock { $0.slots }
        guard let index = slots.firstIndex(where: { $0.displayName == name }) else {
            report.refused = true
            report.unknownPlugin = true
            let known = slots.map(\.displayName).joined(separator: ", ")
            report.errors = ["no configured plugin is named '\(name)'; configured: \(known.isEmpty ? "none" : known)"]
            return report
        }
        let old = slots[index]
        await stop(old, removingSeries: false)
        let slot = PluginSlot(key: old.key, entry: old.entry, result: await manager.start(old.entry))
        state.withLock { state in
            if let position = state.slots.firstIndex(where: { $0.key == old.key }) { state.slots[position] = slot }
        }
        report.restarted = [slot.displayName]
        if let error = slot.result?.error { report.errors.append("plugin '\(slot.displayName)' did not start: \(error)") }
        logger.notice("plugin restarted on request", metadata: ["plugin": "\(slot.displayName)"])
        return report
    }

    private func apply() async -> ReloadReport {
        logger.info("reloading the configuration", metadata: ["source": "\(source)"])
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigurationLoader.load(path: path, environment: environment)
        } catch {
            for issue in error.issues {
                logger.error("configuration issue", metadata: ["issue": "\(issue)"])
            }
            logger.error(
                "the new configuration is invalid and was refused; the running configuration is kept",
                metadata: ["source": "\(source)", "issues": "\(error.issues.count)"])
            return ReloadReport(source: source, refused: true, errors: error.issues.map(\.description))
        }
        let new = loaded.configuration
        var report = ReloadReport(source: source)
        report.restartRequired = ConfigurationLoader.changedSettings(from: startup, to: new)
            .filter { !Self.reloadableSettings.contains($0) }
        for key in report.restartRequired {
            logger.warning("setting changed; it takes effect only after a restart, and was not applied", metadata: ["key": "\(key)"])
        }

        let current = state.withLock { $0.slots }
        let wanted = PluginSlot.keyed(new.plugins, defaultTimeout: new.scheduler.defaultTimeout)
        let previous = Dictionary(current.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let wantedKeys = Set(wanted.map(\.key))

        // Stops first: removed entries, then changed (or previously failed) ones.
        for slot in current where !wantedKeys.contains(slot.key) {
            await stop(slot, removingSeries: true)
            report.removed.append(slot.displayName)
        }
        var keep: [String: PluginSlot] = [:]
        for (key, entry) in wanted {
            guard let old = previous[key] else { continue }
            // An entry that did not change keeps running, unless its library file did (a rebuilt plugin).
            let rebuilt = old.result.map { manager.libraryChanged($0.name) } ?? false
            if old.entry == entry && !old.failed && !rebuilt {
                keep[key] = old
            } else {
                // Its series leave at once when it is disabled or its labels change (the plugin will not report
                // them again); otherwise they stay for the restarted plugin to report.
                await stop(old, removingSeries: !entry.enabled || entry.labels != old.entry.labels)
            }
        }
        // Then starts, in configuration order.
        var slots: [PluginSlot] = []
        for (key, entry) in wanted {
            if let kept = keep[key] {
                slots.append(kept)
                report.unchanged.append(kept.displayName)
                continue
            }
            let slot = PluginSlot(key: key, entry: entry, result: await manager.start(entry))
            slots.append(slot)
            if previous[key] == nil {
                report.added.append(slot.displayName)
            } else {
                report.restarted.append(slot.displayName)
            }
            if let error = slot.result?.error {
                report.errors.append("plugin '\(slot.displayName)' did not start: \(error)")
            }
        }

        if let certificates {
            do throws(MonitoringError) {
                let expires = try certificates.reload()
                report.certificateExpires = expires
                logger.notice("HTTPS certificate re-read; new connections use it", metadata: ["expires": "\(expires.rfc3339Seconds)"])
                MonitoringRuntime.warnIfExpiring(expires, logger: logger)
            } catch {
                report.errors.append("\(error.message); the certificate in use is kept")
                logger.error("the HTTPS certificate was not re-read; the one in use is kept", metadata: ["error": "\(error.message)"])
            }
        }

        var rulesApplied = true
        if let alerts {
            do throws(MonitoringError) {
                try await alerts.replaceFileRules(new.alerts.declaredRules)
            } catch {
                rulesApplied = false
                report.errors.append("alert rules not applied: \(error.message)")
                logger.error("the declared alert rules were not applied; the running ones are kept", metadata: ["error": "\(error.message)"])
            }
        }
        state.withLock { state in
            state.slots = slots
            state.configuration.plugins = new.plugins
            state.configuration.scheduler.defaultTimeout = new.scheduler.defaultTimeout
            if rulesApplied {
                state.configuration.alerts.rules = new.alerts.rules
                state.configuration.alerts.ruleFiles = new.alerts.ruleFiles
                state.configuration.alerts.ruleFileRules = new.alerts.ruleFileRules
            }
        }
        logger.info(
            "configuration reloaded",
            metadata: [
                "source": "\(source)", "added": "\(report.added)", "removed": "\(report.removed)",
                "restarted": "\(report.restarted)", "unchanged": "\(report.unchanged.count)",
                "failed": "\(report.errors.count)", "restart_required": "\(report.restartRequired)",
            ])
        return report
    }

    /// Stops what a slot started: a running plugin is unscheduled (its instance destroyed); a plugin that failed
    /// to start only has its "not loaded" health entry, which is dropped.
    private func stop(_ slot: PluginSlot, removingSeries: Bool) async {
        guard let result = slot.result else { return }
        if result.error == nil {
            await manager.stop(result.name, removingSeries: removingSeries)
        } else if !manager.plugins.contains(where: { $0.name == result.name }) {
            manager.forget(result.name)
            try? await manager.health.unregisterHealthCheck(PluginManager.jobName(result.name))
        }
    }
}
