/// What happened to an alert that a notification tells.
public enum AlertEvent: String, Sendable, Hashable, CaseIterable {
    case firing, resolved, acknowledged
}

/// One notification: an alert and what happened to it (with who did it, for acknowledgements and resolutions by
/// hand).
public struct AlertNotification: Sendable, Hashable {
    public var event: AlertEvent
    public var alert: Alert
    public var user: String?
    public var message: String?

    public init(event: AlertEvent, alert: Alert, user: String? = nil, message: String? = nil) {
        self.event = event
        self.alert = alert
        self.user = user
        self.message = message
    }
}

/// Somewhere notifications go: a notifier plugin, a webhook, Alertmanager, the host log. The spec's
/// `AlertNotifier`, per channel.
public protocol AlertChannel: Sendable {
    /// The channel's name in telemetry and logs (`webhook`, `alertmanager`, `plugin:pagerduty`).
    var name: String { get }
    /// Delivers notifications, in order; throws when they could not be delivered (they are retried).
    func send(_ notifications: [AlertNotification]) async throws(MonitoringError)
}
