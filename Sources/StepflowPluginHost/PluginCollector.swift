import StepflowCore

/// A created plugin instance, whichever way it is isolated and whatever its capabilities (metrics collector, log
/// exporter, alert notifier): the runtime schedules any of them alike. A call the plugin does not implement throws
/// `unsupported`.
///
/// ``PluginInstance`` runs the plugin inside the host process. Every implementation promises what the
/// scheduler relies on: calls return promptly when the calling task is cancelled (throwing `timedOut`),
/// ``isBusy`` tells whether an abandoned call is still running, and a call while busy throws `busy`.
public protocol PluginCollector: AnyObject, Sendable {
    /// The instance name (the config's `name`, or the plugin's own name).
    var name: String { get }
    /// The plugin's validated descriptor.
    var info: PluginDescriptorInfo { get }
    /// How the plugin is isolated from the host.
    var isolation: PluginIsolation { get }
    /// Whether a call is still running (possibly after its caller gave up on it).
    var isBusy: Bool { get }
    /// How many samples were refused so far, by reason.
    var refusedSamples: [MetricRefusalReason: Int] { get }
    /// How many times the plugin was restarted after a crash or a missed deadline (always 0 in-process).
    var restarts: Int { get }
    /// CPU, memory, samples and bytes the instance has used and handed over.
    var usage: PluginUsage { get }
    /// Calls the plugin's `collect_metrics` and returns the valid samples it emitted.
    func collectMetrics() async throws(PluginError) -> MetricBatch
    /// Calls the plugin's optional `metric_names`.
    func metricNames() async throws(PluginError) -> [String]
    /// Calls the plugin's `export_logs` (log exporters).
    func exportLogs(_ records: [PluginLogRecord]) async throws(PluginError)
    /// Calls the plugin's `send_notification` (alert notifiers).
    func sendNotification(_ alert: PluginAlert) async throws(PluginError)
    /// Calls the plugin's `send_acknowledgment` (alert notifiers).
    func sendAcknowledgment(alertID: String, user: String, message: String) async throws(PluginError)
    /// Stops the instance: waits for a call in flight, then destroys it.
    func shutdown() async
}

extension PluginInstance: PluginCollector {
    public var info: PluginDescriptorInfo { library.info }
    public var isolation: PluginIsolation { .inProcess }
    public var restarts: Int { 0 }
}
