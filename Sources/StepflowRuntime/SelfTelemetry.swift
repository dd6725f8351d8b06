import Foundation
import StepflowCore
import StepflowMonitoring
import StepflowPluginHost
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
    let plugins: PluginManager
    let retention: RetentionJob
    /// `nil` when `metrics.enable_aggregation` is off.
    let aggregation: AggregationJob?

    func metrics() -> [MetricInfo] {
        let now = Date()
        var out: [MetricInfo] = []
        func add(_ name: String, _ help: String, _ value: MetricValue, _ labels: [Label] = []) {
            out.append(MetricInfo(
                name: name, type: value.type, labels: labels.sorted(), help: help, value: value, lastUpdated: now))
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
            add("stepflow_job_breaker_open", "1 while the job's circuit breaker is open or half-open, else 0.",
                .gauge(status.breaker == .closed ? 0 : 1), labels)
            add("stepflow_job_breaker_openings_total", "Times the job's circuit breaker opened.",
                .counter(Double(status.breakerOpenings)), labels)
            let durations = status.durations
            add("stepflow_job_duration_seconds", "Duration of the job's calls that returned.",
                .histogram(HistogramValue(
                    sum: durations.sum, count: durations.count,
                    buckets: durations.cumulative.map { HistogramBucket(upperBound: $0.bound, count: $0.count) })),
                labels)
            if let lastDuration = status.lastDuration {
                add("stepflow_job_last_duration_seconds", "How long the job's last call took.",
                    .gauge(lastDuration.inSeconds), labels)
            }
        }
        for plugin in plugins.plugins {
            let labels = [Label("plugin", plugin.name), Label("isolation", plugin.collector.isolation.rawValue)]
            let series = plugin.job.seriesCounts
            add("stepflow_plugin_series", "Distinct series the plugin has created (counted against budgets.series).",
                .gauge(Double(series.known)), labels)
            add("stepflow_plugin_series_refused_total", "Samples of new series dropped past the plugin's series budget.",
                .counter(Double(series.refused)), labels)
            add("stepflow_plugin_restarts_total", "Times the plugin's runner was restarted after a crash or a missed deadline.",
                .counter(Double(plugin.collector.restarts)), labels)
            for (reason, count) in plugin.collector.refusedSamples.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                add("stepflow_plugin_refused_samples_total", "Samples a plugin emitted that were refused, by reason.",
                    .counter(Double(count)), [Label("plugin", plugin.name), Label("reason", reason.rawValue)])
            }
        }
        let counts = engine.counts
        add("stepflow_metrics_accepted_total", "Samples accepted by the metrics engine.", .counter(Double(counts.accepted)))
        let refusals = engine.refusals
        for reason in SampleRefusal.allCases {
            add("stepflow_metrics_refused_total", "Samples refused by the metrics engine, by reason.",
                .counter(Double(refusals[reason] ?? 0)), [Label("reason", reason.rawValue)])
        }
        add("stepflow_metrics_dropped_total", "Accepted samples dropped because the write queue was full.", .counter(Double(queue.dropped)))
        add("stepflow_metrics_written_total", "Samples written to the database.", .counter(Double(writer.written)))
        add("stepflow_metrics_write_failures_total", "Batch transactions that failed (their samples were kept).", .counter(Double(writer.failures)))
        add("stepflow_metrics_queue_depth", "Samples waiting to be written.", .gauge(Double(queue.depth)))
        add("stepflow_metrics_series", "Series held in memory.", .gauge(Double(engine.seriesCount)))
        add("stepflow_metrics_average_write_seconds", "Mean time of one batch transaction.", .gauge(writer.averageWriteTime.inSeconds))
        add("stepflow_storage_bytes", "Size of the database file and its WAL.", .gauge(Double(database.fileSize())))
        add("stepflow_retention_deleted_rows_total",
            "Expired metric samples, metric aggregates and health check results deleted.",
            .counter(Double(retention.deleted)))
        if let aggregation {
            let rolled = aggregation.counts
            add("stepflow_metrics_aggregated_samples_total", "Raw samples rolled up into interval aggregates.",
                .counter(Double(rolled.rows)))
            add("stepflow_metrics_aggregation_runs_total", "Runs of the aggregation job.", .counter(Double(rolled.runs)))
        }
        let lookups = engine.cacheLookups
        add("stepflow_metrics_cache_lookups_total", "get_metric calls.", .counter(Double(lookups.lookups)))
        add("stepflow_metrics_cache_hits_total", "get_metric calls answered from memory.", .counter(Double(lookups.hits)))
        add("stepflow_metrics_cache_hit_ratio", "Share of get_metric calls answered from memory (1 before any call).",
            .gauge(lookups.lookups == 0 ? 1 : Double(lookups.hits) / Double(lookups.lookups)))
        let collections = scheduler.statuses().filter { $0.kind == "plugin" || $0.name == "process" }
        let durations = collections.reduce(into: (sum: 0.0, count: UInt64(0))) {
            $0.sum += $1.durations.sum
            $0.count += $1.durations.count
        }
        add("stepflow_metrics_average_collection_seconds",
            "Mean duration of a collection (plugin collectors and the process collector) since start.",
            .gauge(durations.count == 0 ? 0 : durations.sum / Double(durations.count)))
        return out
    }

}
