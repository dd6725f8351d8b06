import CStepflowPlugin

extension PluginInstance {
    /// Calls the plugin's `export_logs` with `records`, oldest first.
    ///
    /// Every string is lent to the plugin only for the duration of the call (one allocation per call), on the
    /// instance's own queue like every other call.
    /// - Throws: ``PluginError`` `callFailed` (with the plugin's message), `timedOut` when the awaiting task is
    ///   cancelled, `busy` when a previous call has not returned, `unsupported` when the plugin is not a log
    ///   exporter or the instance is shut down.
    public func exportLogs(_ records: [PluginLogRecord]) async throws(PluginError) {
        guard library.info.capabilities.contains(.logExporter), library.descriptor.export_logs != nil else {
            throw error(.unsupported, "the plugin is not a log exporter (capabilities: \(library.info.capabilities))")
        }
        try await perform("export_logs") { context -> Result<Void, PluginError> in
            guard let export = self.library.descriptor.export_logs else {
                return .failure(self.error(.unsupported, "the plugin has no export_logs function"))
            }
            let status = withBorrowedLogRecords(records) { array, count in export(context?.raw, array, count) }
            self.host.endCall()
            guard status == STEPFLOW_OK else {
                return .failure(self.failure(.callFailed, call: "export_logs", status: status))
            }
            return .success(())
        }
    }
}
