import CStepflowPlugin

/// A ``CollectorInstance`` holding a log exporter of a known type: answers `export_logs`.
final class LogExporterInstance<Exporter: CustomLogExporter>: CollectorInstance {
    private let exporter: Exporter

    init(exporter: Exporter, api: UnsafePointer<stepflow_host_api>, host: OpaquePointer?) {
        self.exporter = exporter
        super.init(api: api, host: host)
    }

    override func export(_ records: UnsafePointer<stepflow_log_record>?, _ count: Int) -> Int32 {
        guard count > 0 else { return STEPFLOW_OK }
        guard let records else { return report(PluginFailure.invalid("export_logs was called with NULL records")) }
        do {
            try exporter.exportLogs((0..<count).map { LogRecord(copying: records[$0]) })
            return STEPFLOW_OK
        } catch {
            return report(error)
        }
    }
}
