import Foundation
import StepflowCore
import StepflowMonitoring
import StepflowScheduling
import StepflowStorage

/// The host's own telemetry on `/metrics`, computed at scrape time from live counters (not stored):
/// per-job calls, failures, timeouts, skips and last success; the metrics pipeline's accepted, refused,
/// dropped and written samples, queue depth and write time; and the database size.
struct SelfTelemetry: Sendable {
    let scheduler: Scheduler<ContinuousClock>
    let engine: MetricsEngine
    let queue: MetricsWriteQueue
    let writer: MetricsWriter
    let database: MonitoringDatabase

    func metrics() -> [MetricInfo] {
        let now = Date()
        var out: [MetricInfo] = []
        func add(_ name: String, _ help: String, _ value: MetricValue, _ labels: [Label] = []) {
            out.append(MetricInfo(name: name, type: value.type, labels: labels, help: help, value: value, lastUpdated: now))
        }
        for status in scheduler.statuses() {
            let labels = [Label("job", status.name), Label("kind", status.kind)]
            add("stepflow_job_runs_total", "Calls of a scheduled job (plugin or built-in).", .counter(Double(status.runs)), labels)
            add("stepflow_job_failures_total", "Calls of a scheduled job that failed.", .counter(Double(status.failures)), labels)
            add("stepflow_job_timeouts_total", "Calls of a scheduled job that missed their deadline.", .counter(Double(status.timeouts)), labels)
            add("stepflow_job_skipped_total", "Ticks skipped because an earlier call had not returned.", .counter(Double(status.skipped)), labels)
            add("stepflow_job_up", "1 when the job's last call succeeded, else 0.", .gauge(status.state == .ok ? 1 : 0), labels)
            if let lastSuccess = status.lastSuccess {
                add("stepflow_job_last_success_timestamp_seconds", "When the job last succeeded.",
                    .gauge(lastSuccess.timeIntervalSince1970), labels)
            }
            if let lastDuration = status.lastDuration {
                add("stepflow_job_last_duration_seconds", "How long the job's last call took.",
                    .gauge(seconds(lastDuration)), labels)
            }
        }
        let counts = engine.counts
        add("stepflow_metrics_accepted_total", "Samples accepted by the metrics engine.", .counter(Double(counts.accepted)))
        add("stepflow_metrics_refused_total", "Samples refused as invalid.", .counter(Double(counts.refused)))
        add("stepflow_metrics_dropped_total", "Accepted samples dropped because the write queue was full.", .counter(Double(queue.dropped)))
        add("stepflow_metrics_written_total", "Samples written to the database.", .counter(Double(writer.written)))
        add("stepflow_metrics_write_failures_total", "Batch transactions that failed (their samples were kept).", .counter(Double(writer.failures)))
        add("stepflow_metrics_queue_depth", "Samples waiting to be written.", .gauge(Double(queue.depth)))
        add("stepflow_metrics_series", "Series held in memory.", .gauge(Double(engine.seriesCount)))
        add("stepflow_metrics_average_write_seconds", "Mean time of one batch transaction.", .gauge(seconds(writer.averageWriteTime)))
        add("stepflow_storage_bytes", "Size of the database file and its WAL.", .gauge(Double(database.fileSize())))
        return out
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
