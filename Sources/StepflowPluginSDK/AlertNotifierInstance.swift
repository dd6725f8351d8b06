import CStepflowPlugin

/// A ``CollectorInstance`` holding an alert notifier of a known type: answers `send_notification` and
/// `send_acknowledgment`.
final class AlertNotifierInstance<Notifier: CustomAlertNotifier>: CollectorInstance {
    private let notifier: Notifier

    init(notifier: Notifier, api: UnsafePointer<stepflow_host_api>, host: OpaquePointer?) {
        self.notifier = notifier
        super.init(api: api, host: host)
    }

    override func notify(_ alert: UnsafePointer<stepflow_alert>?) -> Int32 {
        guard let alert else { return report(PluginFailure.invalid("send_notification was called with a NULL alert")) }
        do {
            try notifier.sendNotification(Alert(copying: alert.pointee))
            return STEPFLOW_OK
        } catch {
            return report(error)
        }
    }

    override func acknowledge(_ alertID: stepflow_str, _ user: stepflow_str, _ message: stepflow_str) -> Int32 {
        do {
            try notifier.sendAcknowledgment(alertID: text(alertID), user: text(user), message: text(message))
            return STEPFLOW_OK
        } catch {
            return report(error)
        }
    }
}
