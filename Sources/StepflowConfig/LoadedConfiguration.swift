import StepflowCore

/// A configuration together with where it came from.
public struct LoadedConfiguration: Sendable, Hashable {
    /// The effective configuration: the file (or the embedded default), then the environment on top.
    public var configuration: MonitoringConfiguration
    /// The file path as given, or ``ConfigurationLoader/embeddedSourceName`` for the embedded default.
    public var source: String
    /// The absolute directory of the file, against which relative plugin paths are resolved first;
    /// `nil` for the embedded default.
    public var baseDirectory: String?

    /// Wraps a configuration and its origin.
    public init(configuration: MonitoringConfiguration, source: String, baseDirectory: String?) {
        self.configuration = configuration
        self.source = source
        self.baseDirectory = baseDirectory
    }
}
