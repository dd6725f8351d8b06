import Foundation
import StepflowAlerting
import StepflowCore
import StepflowExport
import StepflowIngest
import StepflowLogs
import StepflowMetrics
import StepflowPluginHost
import StepflowProfiler
import StepflowScheduling
import StepflowSecurity
import StepflowServer
import StepflowStorage
import StepflowTracing

/// The host's own telemetry, computed from live counters: per-job calls, failures, timeouts, skips and last success;
/// the metrics pipeline's accepted, refused, dropped and written samples, queue depth and write time; the database
/// size; the self-monitoring operations and the span metrics. `/metrics` shows it as of the scrape, and
/// ``SelfTelemetryJob`` stores it on `metrics.collection_interval` (docs/profiler.md, "Self-monitoring").
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
    let logs: LogEngine
    let logWriter: BatchWriter<LogRow, Never>
    let traces: TraceEngine
    let spanWriter: BatchWriter<SpanRow, Never>
    /// `nil` unless `logs.export_file` is set (and export on).
    let fileExport: LogExportJob?
    let alerts: AlertEngine
    let notifier: AlertNotifier
    /// The Prometheus remote-write exporter, when it is on.
    var remoteWrite: RemoteWriteJob? = nil
    /// The HTTP API's abuse limits.
    var requestLimits: RequestLimits? = nil
    /// What the pipelines reported through ``MonitoringMonitoring``.
    var operations: OperationLedger? = nil
    /// The span metrics, when `profiler.span_metrics` is on.
    var spans: SpanMetrics? = nil
    /// The blocks the embedding application measured.
    var measured: Profiler? = nil
    /// Every ingest route's requests and items.
    var ingest: IngestStatistics? = nil
    /// The document exporters (Elasticsearch, OTLP) that are on.
    var documentExporters: [DocumentExporterStatus] = []

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
            let lateness = status.lateness
            add("stepflow_job_start_lateness_seconds",
                "How late the job's calls started after their planned time (a busy host delays them).",
                .histogram(HistogramValue(
                    sum: lateness.sum, count: lateness.count,
                    buckets: lateness.cumulative.map { HistogramBucket(upperBound: $0.bound, count: $0.count) })),
                labels)
            add("stepflow_job_max_start_lateness_seconds", "The latest start of the job's calls since it was added.",
                .gauge(status.maxLateness.inSeconds), labels)
            add("stepflow_job_cpu_seconds_total",
                "CPU time of the job's calls in its own code (a plugin's own CPU is stepflow_plugin_cpu_seconds_total).",
                .counter(status.cpuSeconds), labels)
            if let lastDuration = status.lastDuration {
                add("stepflow_job_last_duration_seconds", "How long the job's last call took.",
                    .gauge(lastDuration.inSeconds), labels)
            }
        }
        // Every configured plugin, loaded or not: up is 1 while it is loaded and its last call did not fail.
        let states = Dictionary(scheduler.statuses().map { ($0.name, $0.state) }, uniquingKeysWith: { a, _ in a })
        for (name, loaded) in plugins.configuredPlugins {
            let state = states[PluginManager.jobName(name)]
            let up = loaded && state != .failing && state != .stuck && state != .stopped
            add("stepflow_plugin_up", "1 while the plugin is loaded and its last call did not fail, else 0.",
                .gauge(up ? 1 : 0), [Label("plugin", name)])
        }
        for misuse in PluginAPIMisuse.all {
            add("stepflow_plugin_api_misuse_total",
                "Host API calls a plugin made with a handle no longer valid (refused with STEPFLOW_ERR_EXPIRED).",
                .counter(Double(misuse.count)), [Label("plugin", misuse.plugin), Label("call", misuse.call)])
        }
        for failure in plugins.loadFailures {
            add("stepflow_plugin_load_failures_total", "Times a configured plugin could not be loaded, by reason.",
                .counter(Double(failure.count)), [Label("plugin", failure.plugin), Label("reason", failure.reason)])
        }
        for plugin in plugins.plugins {
            let labels = [Label("plugin", plugin.name), Label("isolation", plugin.collector.isolation.rawValue)]
            if let series = plugin.job?.seriesCounts {
                add("stepflow_plugin_series", "Series the plugin owns now (counted against budgets.series).",
                    .gauge(Double(series.known)), labels)
                add("stepflow_plugin_series_refused_total", "Samples of new series dropped past the plugin's series budget.",
                    .counter(Double(series.refused)), labels)
            }
            add("stepflow_plugin_restarts_total", "Times the plugin's runner was restarted after a crash or a missed deadline.",
                .counter(Double(plugin.collector.restarts)), labels)
            let usage = plugin.collector.usage
            let pluginLabel = [Label("plugin", plugin.name)]
            add("stepflow_plugin_cpu_seconds_total",
                "CPU time of the plugin's calls: thread CPU clock in-process, the runner's user and system time isolated.",
                .counter(usage.cpuSeconds), pluginLabel)
            if let memory = usage.memoryBytes {
                add("stepflow_plugin_memory_bytes", "Resident memory of the plugin's runner (isolated plugins).",
                    .gauge(Double(memory)), pluginLabel)
            }
            add("stepflow_plugin_samples_total", "Samples the plugin handed over.", .counter(Double(usage.samples)), pluginLabel)
            add("stepflow_plugin_bytes_total",
                "Bytes the plugin handed over: runner replies, or the batches' strings and records in-process.",
                .counter(Double(usage.bytes)), pluginLabel)
            for (reason, count) in plugin.refusedSamples.sorted(by: { $0.key < $1.key }) {
                add("stepflow_plugin_refused_samples_total",
                    "Samples a plugin emitted that were refused, by the plugin host or the metrics engine, by reason.",
                    .counter(Double(count)), [Label("plugin", plugin.name), Label("reason", reason)])
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
        let expired = engine.expiredSeries
        for reason in SeriesExpiryReason.allCases {
            add("stepflow_metrics_series_expired_total",
                "Series that left memory and /metrics: not reported for their stale time, or their plugin was removed.",
                .counter(Double(expired[reason] ?? 0)), [Label("reason", reason.rawValue)])
        }
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
        addLogsAndTraces(add)
        addAlerts(add)
        if let operations { out += operations.series(at: now) }
        if let spans { out += spans.series(at: now) }
        if let measured { out += measured.series(at: now) }
        return out
    }

    /// The spec's `total_alerts_fired`, how each rule's evaluations go, and each notification channel.
    private func addAlerts(_ add: (String, String, MetricValue, [Label]) -> Void) {
        let telemetry = alerts.telemetry
        add("stepflow_alerts_fired_total", "Alerts that started firing since start.", .counter(Double(telemetry.firedTotal)), [])
        for status in [AlertStatus.pending, .firing, .acknowledged, .silenced] {
            add("stepflow_alerts", "Open alerts by status (silenced: muted ones among them).",
                .gauge(Double(telemetry.open[status] ?? 0)), [Label("status", status.rawValue)])
        }
        for (rule, status) in telemetry.rules.sorted(by: { $0.key < $1.key }) {
            let labels = [Label("rule", rule)]
            add("stepflow_alert_rule_evaluations_total", "Evaluations of an alert rule.", .counter(Double(status.evaluations)), labels)
            add("stepflow_alert_rule_evaluation_failures_total", "Evaluations of an alert rule whose query failed.",
                .counter(Double(status.failures)), labels)
            add("stepflow_alert_rule_last_evaluation_seconds", "How long the rule's last evaluation took.",
                .gauge(status.lastDuration.inSeconds), labels)
            add("stepflow_alert_rule_overflow_total", "Series skipped because the rule held alerts.max_alerts_per_rule alerts.",
                .counter(Double(status.overflow)), labels)
        }
        for (channel, counts) in notifier.counts.sorted(by: { $0.key < $1.key }) {
            add("stepflow_alert_notifications_total", "Alert notifications by channel and outcome.",
                .counter(Double(counts.sent)), [Label("channel", channel), Label("result", "sent")])
            add("stepflow_alert_notifications_total", "Alert notifications by channel and outcome.",
                .counter(Double(counts.failed)), [Label("channel", channel), Label("result", "failed")])
            add("stepflow_alert_notification_retries_total", "Notification attempts that failed and were retried.",
                .counter(Double(counts.retries)), [Label("channel", channel)])
        }
    }

    /// The spec's `total_logs_processed` and `total_traces_generated`, and how their pipelines fare.
    private func addLogsAndTraces(_ add: (String, String, MetricValue, [Label]) -> Void) {
        let byLevel = logs.acceptedByLevel
        for level in LogLevel.allCases {
            add("stepflow_logs_accepted_total", "Log entries accepted, by level.",
                .counter(Double(byLevel[level] ?? 0)), [Label("level", level.rawValue)])
        }
        let counts = logs.counts
        add("stepflow_logs_refused_total", "Log entries refused (malformed trace or span ids).", .counter(Double(counts.refused)), [])
        add("stepflow_logs_truncated_total", "Log messages cut at logs.max_log_size.", .counter(Double(counts.truncated)), [])
        let logQueue = logs.queueCounts
        add("stepflow_logs_dropped_total", "Accepted log entries dropped because the write queue was full.",
            .counter(Double(logQueue.dropped)), [])
        add("stepflow_logs_queue_depth", "Log entries waiting to be written.", .gauge(Double(logQueue.depth)), [])
        add("stepflow_logs_written_total", "Log entries written to the database.", .counter(Double(logWriter.written)), [])
        var exports: [LogExportJob] = plugins.plugins.compactMap(\.exportJob)
        if let fileExport { exports.append(fileExport) }
        for export in exports {
            let labels = [Label("exporter", export.exporter.name)]
            let exported = export.counts
            add("stepflow_log_export_entries_total", "Log entries an exporter accepted.", .counter(Double(exported.exported)), labels)
            add("stepflow_log_export_batches_total", "Batches an exporter accepted.", .counter(Double(exported.batches)), labels)
            add("stepflow_log_export_deferred_total",
                "Log entries moved to a later batch by the exporter's byte budget (budgets.log_bytes_per_batch).",
                .counter(Double(exported.deferred)), labels)
        }
        if let remoteWrite {
            let counts = remoteWrite.counts
            add("stepflow_remote_write_samples_total", "Stored samples sent to the remote-write receiver, by result.",
                .counter(Double(counts.sent)), [Label("result", "sent")])
            add("stepflow_remote_write_samples_total", "Stored samples sent to the remote-write receiver, by result.",
                .counter(Double(counts.rejected)), [Label("result", "rejected")])
            add("stepflow_remote_write_requests_total", "Requests the remote-write receiver answered.",
                .counter(Double(counts.requests)), [])
        }
        let spans = traces.counts
        add("stepflow_traces_spans_started_total", "Sampled spans started.", .counter(Double(spans.started)), [])
        add("stepflow_traces_spans_recorded_total", "Spans ended (or imported) and queued to be written.",
            .counter(Double(spans.recorded)), [])
        add("stepflow_traces_spans_unsampled_total", "Spans started in traces that sampling leaves out.",
            .counter(Double(spans.unsampled)), [])
        add("stepflow_traces_spans_timed_out_total", "Spans closed after tracing.max_trace_duration.",
            .counter(Double(spans.timedOut)), [])
        add("stepflow_traces_spans_over_limit_total", "Spans not recorded because tracing.max_open_spans were open.",
            .counter(Double(spans.overflow)), [])
        add("stepflow_traces_spans_refused_total", "Imported spans refused as malformed.", .counter(Double(spans.refused)), [])
        add("stepflow_traces_open_spans", "Spans started and not ended yet.", .gauge(Double(traces.openSpans)), [])
        let spanQueue = traces.queueCounts
        add("stepflow_traces_spans_dropped_total", "Ended spans dropped because the write queue was full.",
            .counter(Double(spanQueue.dropped)), [])
        add("stepflow_traces_spans_written_total", "Spans written to the database.", .counter(Double(spanWriter.written)), [])
        if let requestLimits { httpLimitMetrics(requestLimits, add: add) }
        if let ingest { ingestMetrics(ingest, add: add) }
        exportMetrics(add: add)
    }

    /// `stepflow_export_*{exporter,kind}`: what each document exporter sent, retried, dropped, its requests,
    /// backlog and lag (docs/exporters.md, "Telemetry and health").
    private func exportMetrics(add: (String, String, MetricValue, [Label]) -> Void) {
        for exporter in documentExporters {
            let labels = [Label("exporter", exporter.exporter), Label("kind", exporter.kind.rawValue)]
            let counts = exporter.statistics.counts
            add("stepflow_export_sent_total", "Documents or samples the receiver took.", .counter(Double(counts.sent)), labels)
            add("stepflow_export_failed_total", "Documents or samples the receiver refused for good (skipped).",
                .counter(Double(counts.failed)), labels)
            add("stepflow_export_retried_total", "Documents or samples sent again after the receiver refused them for now.",
                .counter(Double(counts.retried)), labels)
            add("stepflow_export_dropped_total", "Documents or samples skipped unsent: older than max_backlog_age.",
                .counter(Double(counts.dropped)), labels)
            add("stepflow_export_requests_total", "Sends to the receiver.", .counter(Double(counts.requests)), labels)
            add("stepflow_export_request_failures_total", "Sends that failed as a whole (connection, 429, 5xx).",
                .counter(Double(counts.failedRequests)), labels)
            add("stepflow_export_request_duration_seconds_total", "Seconds spent sending.",
                .counter(counts.requestSeconds), labels)
            add("stepflow_export_backlog_rows", "Stored rows not sent yet (row ids past the position).",
                .gauge(Double(counts.backlogRows)), labels)
            add("stepflow_export_lag_seconds", "Age of the oldest stored item not sent yet.", .gauge(counts.lagSeconds), labels)
        }
    }

    /// `stepflow_ingest_*`: each ingest route's answers and items (docs/ingest.md, "Counters").
    private func ingestMetrics(_ statistics: IngestStatistics, add: (String, String, MetricValue, [Label]) -> Void) {
        for (key, count) in statistics.requests.sorted(by: { ($0.key.path, $0.key.status) < ($1.key.path, $1.key.status) }) {
            add("stepflow_ingest_requests_total", "Requests to an ingest route, by path and HTTP status.",
                .counter(Double(count)), [Label("path", key.path), Label("code", String(key.status))])
        }
        for (key, count) in statistics.items.sorted(by: { ($0.key.path, $0.key.outcome.rawValue) < ($1.key.path, $1.key.outcome.rawValue) }) {
            add("stepflow_ingest_items_total", "Items (samples, entries, spans) of ingest requests, by path and outcome.",
                .counter(Double(count)), [Label("path", key.path), Label("outcome", key.outcome.rawValue)])
        }
    }

    /// `stepflow_http_*`: what the abuse limits refused (docs/security.md, "Abuse limits").
    private func httpLimitMetrics(_ limits: RequestLimits, add: (String, String, MetricValue, [Label]) -> Void) {
        for (key, count) in limits.rateLimited.sorted(by: { ($0.key.route, $0.key.principal) < ($1.key.route, $1.key.principal) }) {
            add("stepflow_http_rate_limited_total", "Write requests refused with 429 by security.rate_limit, by route and principal.",
                .counter(Double(count)), [Label("route", key.route), Label("principal", key.principal)])
        }
        let failures = limits.authFailures
        for reason in AuthenticationFailure.allCases {
            add("stepflow_http_auth_failures_total", "Requests whose credentials were refused, by reason.",
                .counter(Double(failures[reason] ?? 0)), [Label("reason", reason.rawValue)])
        }
        add("stepflow_http_overloaded_total", "Requests refused with 503 at http.max_concurrent_requests.",
            .counter(Double(limits.overloaded)), [])
        add("stepflow_http_requests_in_flight", "Requests being handled (/metrics and /health not counted).",
            .gauge(Double(limits.requestsInFlight)), [])
    }

}

extension SelfTelemetry {
    /// The telemetry of a host composed of these capabilities.
    init(
        scheduler: Scheduler<ContinuousClock>, plugins: PluginManager, storage: StorageCapability,
        metrics: MetricsCapability, logs: LogsCapability, tracing: TracingCapability, alerting: AlertingCapability,
        export: ExportCapability, profiler: ProfilerCapability, requestLimits: RequestLimits, operations: OperationLedger,
        ingest: IngestStatistics
    ) {
        self.init(
            scheduler: scheduler, engine: metrics.engine, queue: metrics.queue, writer: metrics.writer,
            database: storage.database, plugins: plugins, retention: storage.retention, aggregation: metrics.aggregation,
            logs: logs.engine, logWriter: logs.writer, traces: tracing.engine, spanWriter: tracing.writer,
            fileExport: logs.fileExport, alerts: alerting.engine, notifier: alerting.notifier,
            remoteWrite: export.remoteWrite, requestLimits: requestLimits, operations: operations, spans: profiler.spans,
            measured: profiler.profiler, ingest: ingest, documentExporters: export.documentExporters)
    }
}
