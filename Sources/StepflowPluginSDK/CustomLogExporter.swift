/// A log-exporter plugin: the spec's `CustomLogExporter` extension point, in Swift.
///
/// Export a conforming type from the plugin's entry function with
/// ``StepflowPluginExport/logExporter(_:host:)``. The host creates one value per configured instance, calls it
/// from one thread at a time, where blocking is allowed, and destroys it when the instance stops.
public protocol CustomLogExporter {
    /// Creates an instance from the configuration's `settings:`. Throw ``PluginSettingsError`` or
    /// ``PluginFailure/invalid(_:)`` for bad settings: the host shows the message and refuses the instance.
    init(settings: PluginSettings, logger: PluginLogger) throws

    /// Exports a batch of records, oldest first. Throw ``PluginFailure`` (or any error) when it cannot; the
    /// message reaches the host.
    func exportLogs(_ records: [LogRecord]) throws

    /// The plugin's name, e.g. `file-log`: the descriptor's `name`.
    static var exporterName: String { get }

    /// The formats the exporter writes, e.g. `["ndjson"]` (the spec's `get_supported_formats`).
    static var supportedFormats: [String] { get }

    /// The plugin's version, e.g. `1.0.0`.
    static var version: String { get }

    /// One line saying where the plugin exports logs to.
    static var description: String { get }
}
