import Logging
import StepflowCore

/// Writes every notification to the host's log (`alerts.log_notifications`): firing at warning level, the
/// others at notice, with the alert's labels and annotations as metadata.
public struct LogAlertChannel: AlertChannel {
    public let name = "log"
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func send(_ notifications: [AlertNotification]) async throws(MonitoringError) {
        for notification in notifications {
            let alert = notification.alert
            var metadata: Logger.Metadata = [
                "alert": "\(alert.id)", "rule": "\(alert.name)", "severity": "\(alert.severity.rawValue)",
                "labels": "{\(Alert.fingerprint(alert.labels))}",
            ]
            if let value = alert.value { metadata["value"] = "\(value)" }
            for (key, text) in alert.annotations { metadata["annotation.\(key)"] = "\(text)" }
            if let user = notification.user { metadata["user"] = "\(user)" }
            if let message = notification.message { metadata["message"] = "\(message)" }
            let level: Logger.Level = notification.event == .firing ? .warning : .notice
            logger.log(level: level, "alert \(notification.event.rawValue): \(alert.name)", metadata: metadata)
        }
    }
}
