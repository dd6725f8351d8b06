extension IsolatedPluginInstance {
    /// Calls the plugin's `export_logs` in the runner, like ``PluginInstance/exportLogs(_:)`` in-process.
    ///
    /// - Throws: ``PluginError`` `unsupported` for a plugin that is not a log exporter, `callFailed` with the
    ///   plugin's message, `crashed`, `timedOut` or `busy` as for ``collectMetrics()``.
    public func exportLogs(_ records: [PluginLogRecord]) async throws(PluginError) {
        try await request(
            "export_logs", capability: .logExporter,
            RunnerFrame(.exportLogs, payload: RunnerCodec.exportLogsRequest(records)))
    }

    /// Calls the plugin's `send_notification` in the runner.
    public func sendNotification(_ alert: PluginAlert) async throws(PluginError) {
        try await request(
            "send_notification", capability: .alertNotifier,
            RunnerFrame(.notify, payload: RunnerCodec.notifyRequest(alert)))
    }

    /// Calls the plugin's `send_acknowledgment` in the runner.
    public func sendAcknowledgment(alertID: String, user: String, message: String) async throws(PluginError) {
        try await request(
            "send_acknowledgment", capability: .alertNotifier,
            RunnerFrame(.acknowledge, payload: RunnerCodec.acknowledgeRequest(alertID: alertID, user: user, message: message)))
    }
}
