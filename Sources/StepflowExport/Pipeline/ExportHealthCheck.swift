import StepflowCore

/// An exporter's `/health` component: its job's state as the scheduler sees it (`base`), plus its backlog;
/// degraded when the oldest unsent item is older than three export intervals, with the last error
/// (docs/exporters.md, "Telemetry and health").
public struct ExportHealthCheck: HealthCheck {
    let base: any HealthCheck
    let exporter: DocumentExporterStatus

    public init(base: any HealthCheck, exporter: DocumentExporterStatus) {
        self.base = base
        self.exporter = exporter
    }

    public func check() async -> HealthStatus {
        var status = await base.check()
        let counts = exporter.statistics.counts
        status.details["destination"] = .string(exporter.destination)
        status.details["backlog_rows"] = .int(counts.backlogRows)
        status.details["lag_seconds"] = .double(counts.lagSeconds)
        status.details["sent"] = .int(Int64(counts.sent))
        status.details["failed"] = .int(Int64(counts.failed))
        status.details["dropped"] = .int(Int64(counts.dropped))
        if let error = counts.lastError { status.details["last_error"] = .string(error) }
        let limit = exporter.interval.inSeconds * 3
        if counts.lagSeconds > limit, status.status == .healthy {
            status.status = .degraded
            status.message = "\(Int(counts.lagSeconds)) s behind, more than 3 × export_interval"
                + (counts.lastError.map { "; last error: \($0)" } ?? "")
        }
        return status
    }
}
