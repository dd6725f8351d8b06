import Foundation
import StepflowCore
import StepflowPluginHost

/// A notifier plugin as an alert channel: firing and resolved alerts go to its `send_notification`,
/// acknowledgements to its `send_acknowledgment`, one call per notification, in order.
///
/// When a call fails, the notifier retries the whole batch; the notifications this channel already delivered are
/// remembered and not sent again, so a plugin never sees one twice.
actor PluginAlertChannel: AlertChannel {
    nonisolated let name: String
    private let instance: any PluginCollector
    /// `event:alert id` of the notifications delivered lately (bounded).
    private var delivered: Set<String> = []

    init(name: String, instance: any PluginCollector) {
        self.name = name
        self.instance = instance
    }

    func send(_ notifications: [AlertNotification]) async throws(MonitoringError) {
        for notification in notifications {
            let key = "\(notification.event.rawValue):\(notification.alert.id)"
            if delivered.contains(key) { continue }
            do throws(PluginError) {
                switch notification.event {
                case .firing, .resolved:
                    try await instance.sendNotification(Self.pluginAlert(notification))
                case .acknowledged:
                    try await instance.sendAcknowledgment(
                        alertID: notification.alert.id.rawValue, user: notification.user ?? "",
                        message: notification.message ?? "")
                }
            } catch {
                throw MonitoringError(.exportFailed, "notifier plugin \(instance.name): \(error.message)", hint: error.hint)
            }
            if delivered.count > 10_000 { delivered.removeAll() }
            delivered.insert(key)
        }
    }

    static func pluginAlert(_ notification: AlertNotification) -> PluginAlert {
        let alert = notification.alert
        var value = Double.nan
        if case .number(let number)? = alert.value { value = number }
        return PluginAlert(
            alertID: alert.id.rawValue, ruleID: alert.ruleID.rawValue, name: alert.name, description: alert.description,
            severity: alert.severity.rawValue, status: notification.event.rawValue,
            labels: alert.labels.map { ($0.name, $0.value) },
            annotations: alert.annotations.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            value: value, firedAt: alert.firedAt ?? alert.activeSince,
            resolvedAt: notification.event == .resolved ? alert.resolvedAt : nil)
    }
}
