/// A Swift copy of a plugin's descriptor: what the plugin says it is and does.
public struct PluginDescriptorInfo: Sendable, Hashable {
    /// `name`, e.g. `filesystem`.
    public let name: String
    /// `version`, e.g. `1.0.0`; empty when the plugin gave none.
    public let version: String
    /// `description`; empty when the plugin gave none.
    public let description: String
    /// The ABI major version the plugin was built against.
    public let abiVersion: UInt32
    /// `sizeof(stepflow_plugin_descriptor)` as the plugin was compiled.
    public let structSize: UInt32
    /// The extension points the plugin implements.
    public let capabilities: PluginCapabilities
    /// How often the plugin wants to be called when the configuration does not say; `.zero` for a plugin that
    /// is not a metrics collector.
    public let defaultInterval: Duration
    /// The shared library, as given to ``PluginLibrary/load(path:)``.
    public let path: String
    /// `path` with symbolic links and relative components resolved.
    public let resolvedPath: String
    /// Whether the plugin implements the optional `metric_names` call.
    public let listsMetricNames: Bool
    /// `supported_formats` of a log exporter (the spec's `get_supported_formats`); empty when the plugin gives
    /// none or was built against a header that predates the member.
    public let supportedFormats: [String]
    /// `supported_channels` of a notifier (the spec's `get_supported_channels`); empty likewise.
    public let supportedChannels: [String]
}
