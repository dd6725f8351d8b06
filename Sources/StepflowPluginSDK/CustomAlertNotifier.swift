/// An alert-notifier plugin: the spec's `CustomAlertNotifier` extension point, in Swift.
///
/// Export a conforming type from the plugin's entry function with
/// ``StepflowPluginExport/alertNotifier(_:host:)``. The host creates one value per configured instance, calls
/// it from one thread at a time, where blocking is allowed, and destroys it when the instance stops.
public protocol CustomAlertNotifier {
    /// Creates an instance from the configuration's `settings:`. Throw ``PluginSettingsError`` or
    /// ``PluginFailure/invalid(_:)`` for bad settings: the host shows the message and refuses the instance.
    init(settings: PluginSettings, logger: PluginLogger) throws

    /// Sends a notification about a firing or resolved alert. Throw ``PluginFailure`` (or any error) when it
    /// cannot; the message reaches the host.
    func sendNotification(_ alert: Alert) throws

    /// Tells that `alertID` was acknowledged by `user` with `message`.
    func sendAcknowledgment(alertID: String, user: String, message: String) throws

    /// The plugin's name, e.g. `file-notifier`: the descriptor's `name`.
    static var notifierName: String { get }

    /// The channels the notifier reaches, e.g. `["email", "slack"]` (the spec's `get_supported_channels`).
    static var supportedChannels: [String] { get }

    /// The plugin's version, e.g. `1.0.0`.
    static var version: String { get }

    /// One line saying whom the plugin notifies and how.
    static var description: String { get }
}
