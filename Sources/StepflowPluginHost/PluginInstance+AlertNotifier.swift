import CStepflowPlugin

extension PluginInstance {
    /// Calls the plugin's `send_notification` about a firing or resolved `alert`.
    ///
    /// Every string is lent to the plugin only for the duration of the call (one allocation per call), on the
    /// instance's own queue like every other call.
    /// - Throws: ``PluginError`` `callFailed` (with the plugin's message), `timedOut` when the awaiting task is
    ///   cancelled, `busy` when a previous call has not returned, `unsupported` when the plugin is not an alert
    ///   notifier or the instance is shut down.
    public func sendNotification(_ alert: PluginAlert) async throws(PluginError) {
        try requireNotifier()
        try await perform("send_notification") { context -> Result<Void, PluginError> in
            guard let send = self.library.descriptor.send_notification else {
                return .failure(self.error(.unsupported, "the plugin has no send_notification function"))
            }
            let status = withBorrowedAlert(alert) { send(context?.raw, $0) }
            self.host.endCall()
            guard status == STEPFLOW_OK else {
                return .failure(self.failure(.callFailed, call: "send_notification", status: status))
            }
            return .success(())
        }
    }

    /// Calls the plugin's `send_acknowledgment`: `alertID` was acknowledged by `user` with `message`.
    ///
    /// - Throws: as ``sendNotification(_:)``.
    public func sendAcknowledgment(alertID: String, user: String, message: String) async throws(PluginError) {
        try requireNotifier()
        try await perform("send_acknowledgment") { context -> Result<Void, PluginError> in
            guard let send = self.library.descriptor.send_acknowledgment else {
                return .failure(self.error(.unsupported, "the plugin has no send_acknowledgment function"))
            }
            let status = withBorrowedAcknowledgment(alertID: alertID, user: user, message: message) { id, user, text in
                send(context?.raw, id, user, text)
            }
            self.host.endCall()
            guard status == STEPFLOW_OK else {
                return .failure(self.failure(.callFailed, call: "send_acknowledgment", status: status))
            }
            return .success(())
        }
    }

    private func requireNotifier() throws(PluginError) {
        guard library.info.capabilities.contains(.alertNotifier) else {
            throw error(.unsupported, "the plugin is not an alert notifier (capabilities: \(library.info.capabilities))")
        }
    }
}
