/// A metrics collector plugin: the spec's `CustomMetricsCollector` extension point, in Swift.
///
/// Export a conforming type from the plugin's entry function with
/// ``StepflowPluginExport/metricsCollector(_:host:)``. The host creates one value per configured instance,
/// calls it from one thread at a time, and destroys it when the instance stops.
///
/// ``collectMetrics()`` is synchronous on purpose: the C call behind it is synchronous, and the host runs it on a
/// thread of its own where blocking (reading files, a socket with a timeout) is allowed. An `async` requirement
/// would need the plugin to block a thread on a task anyway, and a hung await could not be abandoned by the host
/// any better than a hung call; the host already enforces the deadline around the C call.
public protocol CustomMetricsCollector {
    /// Creates an instance from the configuration's `settings:`. Throw ``PluginSettingsError`` or
    /// ``PluginFailure/invalid(_:)`` for bad settings: the host shows the message and refuses the instance.
    init(settings: PluginSettings, logger: PluginLogger) throws

    /// The current samples. Throw ``PluginFailure`` (or any error) when they cannot be read; the message reaches
    /// the host's log and error report.
    func collectMetrics() throws -> [PluginMetric]

    /// The names of the metrics this instance emits (the spec's `get_metric_names`).
    var metricNames: [String] { get }

    /// The plugin's name, e.g. `system`: the descriptor's `name`.
    static var collectorName: String { get }

    /// How often the host calls the collector when the configuration does not say.
    static var collectionInterval: Duration { get }

    /// The plugin's version, e.g. `1.0.0`.
    static var version: String { get }

    /// One line saying what the plugin collects.
    static var description: String { get }
}
