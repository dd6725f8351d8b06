import Foundation

/// The spec's `MetricsConfig` (YAML `metrics:`).
public struct MetricsConfig: Sendable, Hashable {
    /// `collection_interval`, env `STEPFLOW_MONITORING_METRICS_COLLECTION_INTERVAL`, default 60s:
    /// how often the built-in process collector runs and in-memory state is snapshotted.
    public var collectionInterval: Duration = .seconds(60)
    /// `retention_days`, env `STEPFLOW_MONITORING_METRICS_RETENTION_DAYS`, default 30.
    public var retentionDays: Int = 30
    /// `max_metrics_per_batch`, env `STEPFLOW_MONITORING_METRICS_MAX_BATCH_SIZE`, default 1000:
    /// the most samples written in one transaction.
    public var maxMetricsPerBatch: Int = 1000
    /// `enable_aggregation`, env `STEPFLOW_MONITORING_METRICS_ENABLE_AGGREGATION`, default true.
    public var enableAggregation: Bool = true
    /// `aggregation_interval`, env `STEPFLOW_MONITORING_METRICS_AGGREGATION_INTERVAL`, default 5m.
    public var aggregationInterval: Duration = .seconds(300)
    /// `enable_export`, env `STEPFLOW_MONITORING_METRICS_ENABLE_EXPORT`, default false.
    public var enableExport: Bool = false
    /// `export_interval`, env `STEPFLOW_MONITORING_METRICS_EXPORT_INTERVAL`, default 60s.
    public var exportInterval: Duration = .seconds(60)
    /// `flush_interval`, default 1s: how long accepted samples may wait in memory before they are written.
    public var flushInterval: Duration = .seconds(1)
    /// `max_queue_size`, default 100000: the most samples held in memory waiting to be written.
    public var maxQueueSize: Int = 100_000
    /// `max_labels_per_series`, default 32: a sample with more labels is refused.
    public var maxLabelsPerSeries: Int = 32
    /// `max_label_value_length`, default 1024 bytes: a sample with a longer label value is refused.
    public var maxLabelValueLength: Int = 1024
    /// `max_series_per_metric`, default 10000: a sample that would create a series past this many for its
    /// metric name is refused.
    public var maxSeriesPerMetric: Int = 10_000
    /// `max_series`, default 100000: a sample that would create a series past this many in the whole host is
    /// refused; it bounds the memory of the series table and the size of `/metrics`.
    public var maxSeries: Int = 100_000
    /// `histogram_buckets`, default Prometheus' `[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]`: the
    /// upper bounds of histograms fed by observations whose name has none of its own in `histograms`.
    public var histogramBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// `histograms`, default empty: upper bounds per histogram name, e.g. `http_request_duration_seconds: [0.1, 1]`.
    public var histograms: [String: [Double]] = [:]
    /// `summary_quantiles`, default `[0.5, 0.9, 0.99]`: the φ-quantiles summaries report.
    public var summaryQuantiles: [Double] = [0.5, 0.9, 0.99]
    /// `summary_max_age`, default 10m: how long an observation counts towards a summary's quantiles.
    public var summaryMaxAge: Duration = .seconds(600)
    /// `summary_max_samples`, default 1024: the most observations a summary keeps for its quantiles.
    public var summaryMaxSamples: Int = 1024
    /// `backpressure_timeout`, default 5s: how long `record_metrics` waits for room in a full write queue before
    /// the rest of its batch is dropped and counted.
    public var backpressureTimeout: Duration = .seconds(5)
    /// `series_expiry`, default 5m: how long a series stays in memory and on `/metrics` after its source last
    /// reported it (HTTP ingest, plugins, series restored at start); `0s` keeps series until the host stops.
    /// A plugin's own `stale_after` overrides it; a plugin's default is the longer of this and twice its interval.
    public var seriesExpiry: Duration = .seconds(300)

    public init() {}
    public static let `default` = MetricsConfig()
}

/// The spec's `LogConfig` (YAML `logs:`).
public struct LogConfig: Sendable, Hashable {
    /// `source`, env `STEPFLOW_MONITORING_LOGS_SOURCE`, default "stepflow".
    public var source: String = "stepflow"
    /// `retention_days`, env `STEPFLOW_MONITORING_LOGS_RETENTION_DAYS`, default 90.
    public var retentionDays: Int = 90
    /// `max_log_size`, env `STEPFLOW_MONITORING_LOGS_MAX_SIZE`, default 65536 bytes: the longest message kept
    /// whole; a longer one is cut there, marked `… [truncated N bytes]`, and counted.
    public var maxLogSize: Int = 65_536
    /// `enable_compression`, env `STEPFLOW_MONITORING_LOGS_ENABLE_COMPRESSION`, default true.
    public var enableCompression: Bool = true
    /// `enable_rotation`, env `STEPFLOW_MONITORING_LOGS_ENABLE_ROTATION`, default true.
    public var enableRotation: Bool = true
    /// `rotation_size`, env `STEPFLOW_MONITORING_LOGS_ROTATION_SIZE`, default 10485760 bytes.
    public var rotationSize: Int = 10_485_760
    /// `enable_export`, env `STEPFLOW_MONITORING_LOGS_ENABLE_EXPORT`, default false.
    public var enableExport: Bool = false
    /// `export_interval`, env `STEPFLOW_MONITORING_LOGS_EXPORT_INTERVAL`, default 5m: how often each exporter
    /// receives the entries written since its last batch.
    public var exportInterval: Duration = .seconds(300)
    /// `export_file`, env `STEPFLOW_MONITORING_LOGS_EXPORT_FILE`, default "" (off): the NDJSON file of the built-in
    /// file exporter, rotated at `rotation_size` when `enable_rotation`, gzip-compressed when `enable_compression`.
    public var exportFile: String = ""
    /// `max_rotated_files`, default 5: how many rotated files the file exporter keeps.
    public var maxRotatedFiles: Int = 5
    /// `flush_interval`, default 1s: how long accepted entries may wait in memory before they are written.
    public var flushInterval: Duration = .seconds(1)
    /// `max_queue_size`, default 100000: the most entries held in memory waiting to be written.
    public var maxQueueSize: Int = 100_000

    public init() {}
    public static let `default` = LogConfig()
}

/// The spec's `TracingConfig` (YAML `tracing:`).
public struct TracingConfig: Sendable, Hashable {
    /// `sampling_rate`, env `STEPFLOW_MONITORING_TRACING_SAMPLING_RATE`, default 0.1; must lie in 0…1.
    public var samplingRate: Double = 0.1
    /// `max_trace_duration`, env `STEPFLOW_MONITORING_TRACING_MAX_DURATION`, default 5m.
    public var maxTraceDuration: Duration = .seconds(300)
    /// `retention_days`, env `STEPFLOW_MONITORING_TRACING_RETENTION_DAYS`, default 7.
    public var retentionDays: Int = 7
    /// `enable_export`, env `STEPFLOW_MONITORING_TRACING_ENABLE_EXPORT`, default false.
    public var enableExport: Bool = false
    /// `export_interval`, env `STEPFLOW_MONITORING_TRACING_EXPORT_INTERVAL`, default 60s.
    public var exportInterval: Duration = .seconds(60)
    /// `enable_sampling`, env `STEPFLOW_MONITORING_TRACING_ENABLE_SAMPLING`, default true.
    public var enableSampling: Bool = true
    /// `max_open_spans`, default 100000: the most spans started and not yet ended held in memory; past it a new
    /// span is still returned but not recorded, and counted.
    public var maxOpenSpans: Int = 100_000
    /// `flush_interval`, default 1s: how long ended spans may wait in memory before they are written.
    public var flushInterval: Duration = .seconds(1)

    public init() {}
    public static let `default` = TracingConfig()
}

/// The spec's `AlertConfig` (YAML `alerts:`).
public struct AlertConfig: Sendable, Hashable {
    /// `evaluation_interval`, env `STEPFLOW_MONITORING_ALERTS_EVALUATION_INTERVAL`, default 30s.
    public var evaluationInterval: Duration = .seconds(30)
    /// `default_for_duration`, env `STEPFLOW_MONITORING_ALERTS_DEFAULT_FOR_DURATION`, default 5m.
    public var defaultForDuration: Duration = .seconds(300)
    /// `max_alerts_per_rule`, env `STEPFLOW_MONITORING_ALERTS_MAX_PER_RULE`, default 100.
    public var maxAlertsPerRule: Int = 100
    /// `enable_notifications`, env `STEPFLOW_MONITORING_ALERTS_ENABLE_NOTIFICATIONS`, default true.
    public var enableNotifications: Bool = true
    /// `notification_timeout`, env `STEPFLOW_MONITORING_ALERTS_NOTIFICATION_TIMEOUT`, default 30s.
    public var notificationTimeout: Duration = .seconds(30)
    /// `enable_silencing`, env `STEPFLOW_MONITORING_ALERTS_ENABLE_SILENCING`, default true.
    public var enableSilencing: Bool = true
    /// `webhook_url`, env `STEPFLOW_MONITORING_ALERTS_WEBHOOK_URL`, default empty (off): notifications are POSTed
    /// there as JSON (docs/alerting.md).
    public var webhookURL: String = ""
    /// `alertmanager_url`, env `STEPFLOW_MONITORING_ALERTS_ALERTMANAGER_URL`, default empty (off): an Alertmanager
    /// base URL (`http://127.0.0.1:9093`) that receives firing and resolved alerts through its API v2.
    public var alertmanagerURL: String = ""
    /// `webhook_tls`: how the webhook's certificate is checked when its URL is https://.
    public var webhookTLS = OutgoingTLSConfig()
    /// `alertmanager_tls`: how Alertmanager's certificate is checked when its URL is https://.
    public var alertmanagerTLS = OutgoingTLSConfig()
    /// `retention_days`, env `STEPFLOW_MONITORING_ALERTS_RETENTION_DAYS`, default 30: resolved alerts and ended
    /// silences older than this are deleted; 0 keeps them all.
    public var retentionDays: Int = 30
    /// `log_notifications`, default true: every notification is also written to the host's log.
    public var logNotifications: Bool = true
    /// `rule_files`: YAML files with a `rules:` list each; relative paths are taken from the configuration's
    /// directory.
    public var ruleFiles: [String] = []
    /// `rules`: the rules declared in the configuration itself.
    public var rules: [AlertRule] = []
    /// The rules read from ``ruleFiles``, in file order (each with its `source`).
    public var ruleFileRules: [AlertRule] = []

    /// Every declared rule: the configuration's, then the rule files'.
    public var declaredRules: [AlertRule] { rules + ruleFileRules }

    public init() {}
    public static let `default` = AlertConfig()
}

/// Built-in health checks (YAML `health:`).
public struct HealthConfig: Sendable, Hashable {
    /// `check_interval`, env `STEPFLOW_MONITORING_HEALTH_CHECK_INTERVAL`, default 30s.
    public var checkInterval: Duration = .seconds(30)
    /// `check_timeout`, env `STEPFLOW_MONITORING_HEALTH_CHECK_TIMEOUT`, default 10s.
    public var checkTimeout: Duration = .seconds(10)
    /// `check_retries`, env `STEPFLOW_MONITORING_HEALTH_CHECK_RETRIES`, default 3: consecutive failed calls of
    /// a plugin or built-in job before it is reported unhealthy (fewer make it degraded).
    public var checkRetries: Int = 3

    public init() {}
    public static let `default` = HealthConfig()
}

/// Prometheus remote write (YAML `exporters.prometheus:`).
public struct PrometheusExporterConfig: Sendable, Hashable {
    /// `enabled`, default false.
    public var enabled: Bool = false
    /// `endpoint`, env `STEPFLOW_MONITORING_PROMETHEUS_ENDPOINT`, default `http://localhost:9090/api/v1/write`.
    public var endpoint: String = "http://localhost:9090/api/v1/write"
    /// `tls`: how the endpoint's certificate is checked when it is https://.
    public var tls = OutgoingTLSConfig()

    public init() {}
}

/// Elasticsearch bulk export (YAML `exporters.elasticsearch:`).
public struct ElasticsearchExporterConfig: Sendable, Hashable {
    /// `enabled`, default false.
    public var enabled: Bool = false
    /// `url`, env `STEPFLOW_MONITORING_ELASTICSEARCH_URL`, default `http://localhost:9200`.
    public var url: String = "http://localhost:9200"
    /// `log_index`, env `STEPFLOW_MONITORING_ELASTICSEARCH_LOG_INDEX`, default `stepflow-logs`.
    public var logIndex: String = "stepflow-logs"
    /// `metrics_index`, env `STEPFLOW_MONITORING_ELASTICSEARCH_METRICS_INDEX`, default `stepflow-metrics`.
    public var metricsIndex: String = "stepflow-metrics"
    /// `traces_index`, env `STEPFLOW_MONITORING_ELASTICSEARCH_TRACES_INDEX`, default `stepflow-traces`.
    public var tracesIndex: String = "stepflow-traces"
    /// `username` and `password` (env `STEPFLOW_MONITORING_ELASTICSEARCH_PASSWORD`): HTTP basic authentication
    /// when `username` is set.
    public var username: String = ""
    public var password: String = ""
    /// `api_key`, env `STEPFLOW_MONITORING_ELASTICSEARCH_API_KEY`: sent as `Authorization: ApiKey <api_key>` (the
    /// encoded key Elasticsearch returns); wins over `username`.
    public var apiKey: String = ""
    /// `gzip`, default true: bulk bodies are sent gzip-compressed.
    public var gzip: Bool = true
    /// `max_batch_documents`, default 1000: the most documents in one `_bulk` request.
    public var maxBatchDocuments: Int = 1_000
    /// `max_batch_bytes`, default 5242880 (5 MiB): the most NDJSON bytes in one `_bulk` request (before gzip).
    public var maxBatchBytes: Int = 5 << 20
    /// `max_backlog_age`, default 24h: stored data older than this that is still unsent is skipped, counted and
    /// logged instead of sent.
    public var maxBacklogAge: Duration = .seconds(86_400)
    /// `timeout`, default 30s: how long one `_bulk` request may take.
    public var timeout: Duration = .seconds(30)
    /// `tls`: how the server's certificate is checked when `url` is https://.
    public var tls = OutgoingTLSConfig()

    public init() {}
}

/// OTLP/HTTP export to an OpenTelemetry Collector, Jaeger, Tempo or any OTLP receiver (YAML `exporters.otlp:`).
public struct OTLPExporterConfig: Sendable, Hashable {
    /// `enabled`, env `STEPFLOW_MONITORING_OTLP_ENABLED`, default false.
    public var enabled: Bool = false
    /// `endpoint`, env `STEPFLOW_MONITORING_OTLP_ENDPOINT`, default `http://localhost:4318`: the base URL; the
    /// signals go to `/v1/traces`, `/v1/logs` and `/v1/metrics` under it.
    public var endpoint: String = "http://localhost:4318"
    /// `headers`, env `STEPFLOW_MONITORING_OTLP_HEADERS` (`name=value,…`): sent with every request (an
    /// `Authorization` or API-key header).
    public var headers: [String: String] = [:]
    /// `gzip`, default true.
    public var gzip: Bool = true
    /// `timeout`, default 10s: one request.
    public var timeout: Duration = .seconds(10)
    /// `traces`, `logs`, `metrics`: which signals are sent (each also needs its pipeline's `enable_export`).
    public var traces: Bool = true
    public var logs: Bool = true
    public var metrics: Bool = true
    /// `service_name`, env `STEPFLOW_MONITORING_OTLP_SERVICE_NAME`, default `stepflow-monitor`.
    public var serviceName: String = "stepflow-monitor"
    /// `resource_attributes`, env `STEPFLOW_MONITORING_OTLP_RESOURCE_ATTRIBUTES`: more resource attributes.
    public var resourceAttributes: [String: String] = [:]
    /// `max_batch_items`, default 512: spans, log records or data points per request.
    public var maxBatchItems: Int = 512
    /// `max_backlog_age`, default 24h.
    public var maxBacklogAge: Duration = .seconds(86_400)
    /// `tls`: how the receiver's certificate is checked when `endpoint` is https://.
    public var tls = OutgoingTLSConfig()

    public init() {}
}

/// External systems to export to (YAML `exporters:`).
public struct ExportersConfig: Sendable, Hashable {
    /// `external_labels`, env `STEPFLOW_MONITORING_EXTERNAL_LABELS`: labels added to everything that leaves the
    /// host (remote write, OTLP resources, Elasticsearch documents, Alertmanager alerts), never to what is stored.
    /// `host` is the machine's hostname unless set here; `host: ""` sends none.
    public var externalLabels: [String: String] = [:]
    public var prometheus = PrometheusExporterConfig()
    public var elasticsearch = ElasticsearchExporterConfig()
    public var otlp = OTLPExporterConfig()

    /// The labels to add, sorted: `externalLabels` over `host` = `hostname`, empty values left out.
    public func externalLabels(hostname: String) -> [Label] {
        var labels = ["host": hostname]
        labels.merge(externalLabels) { _, configured in configured }
        return labels.filter { !$0.value.isEmpty }.map { Label($0.key, $0.value) }.sorted()
    }

    public init() {}
    public static let `default` = ExportersConfig()
}

/// The HTTP API (YAML `http:`).
public struct HTTPConfig: Sendable, Hashable {
    /// `enabled`, env `STEPFLOW_MONITORING_HEALTH_CHECK_ENABLE_HTTP`, default true.
    public var enabled: Bool = true
    /// `address`, env `STEPFLOW_MONITORING_HTTP_ADDRESS`, default `127.0.0.1`.
    public var address: String = "127.0.0.1"
    /// `port`, env `STEPFLOW_MONITORING_HEALTH_CHECK_HTTP_PORT`, default 8080; 0 picks a free port.
    public var port: Int = 8080
    /// `max_body_size`, default 16777216 (16 MiB): the largest request body accepted; a larger one gets 413.
    public var maxBodySize: Int = 16 << 20
    /// `auth_token`, env `STEPFLOW_MONITORING_HTTP_AUTH_TOKEN`, default empty (off): when set, every `/api/`
    /// request must carry `Authorization: Bearer <token>`; `/metrics` and `/health` stay open.
    public var authToken: String = ""
    /// `max_concurrent_requests`, default 256: requests handled at once (`/metrics` and `/health` not counted);
    /// past it, 503 with `Retry-After`.
    public var maxConcurrentRequests: Int = 256
    /// `max_control_body_size`, default 1048576 (1 MiB): the largest body of a request that is not ingest (rules,
    /// silences, acknowledgements); ingest takes up to `max_body_size`.
    public var maxControlBodySize: Int = 1 << 20
    /// `idle_timeout`, default 30s: a connection that sends nothing for this long (a request head that never
    /// completes included) is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// `max_connections`, default 512: connections served at once; past it new ones wait in the listen backlog.
    public var maxConnections: Int = 512
    /// `query_timeout`, default 10s: the longest one series query (`GET /api/v1/metrics`) may spend matching;
    /// past it the query is refused with 400 saying so, instead of occupying the host.
    public var queryTimeout: Duration = .seconds(10)
    /// `max_json_depth`, default 32: the deepest nesting of arrays and objects a JSON body may have; a deeper
    /// one is answered 400 before it is decoded.
    public var maxJSONDepth: Int = 32
    /// `acknowledge`, env `STEPFLOW_MONITORING_HTTP_ACKNOWLEDGE`, default `committed`: when an ingest request
    /// (`POST /api/v1/metrics`, `/logs`, `/spans`) is answered 200. `committed`: after its rows are in the
    /// database (concurrent requests share transactions); `queued`: as soon as they are queued in memory, which is
    /// faster but loses up to one flush interval of acknowledged rows if the process is killed.
    public var acknowledge: String = "committed"
    /// `commit_timeout`, default 10s: how long a `committed` request waits for its rows to be written; past it,
    /// they stay queued and the answer is 202 (accepted, not yet stored).
    public var commitTimeout: Duration = .seconds(10)
    /// `allowed_origins`, default empty: comma-separated origins (`https://grafana.example:3000`) whose
    /// browser requests are served besides the host's own; a request with any other `Origin` gets 403.
    public var allowedOrigins: String = ""
    /// `allowed_hosts`, default empty: comma-separated names (`monitor.example`) accepted in the `Host` header
    /// besides the bound address, `localhost`, `127.0.0.1` and `[::1]`; any other gets 421 (DNS rebinding).
    public var allowedHosts: String = ""
    /// `tls`: HTTPS, and optionally client certificates (default off: plain HTTP).
    public var tls = ServerTLSConfig()

    public init() {}
    public static let `default` = HTTPConfig()

    /// ``allowedOrigins`` split at commas, trimmed, lowercased, without empty items.
    public var allowedOriginList: [String] { Self.list(allowedOrigins) }
    /// ``allowedHosts`` split at commas, trimmed, lowercased, without empty items.
    public var allowedHostList: [String] { Self.list(allowedHosts) }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }
}

/// The sizes of what the host stores from its inputs (YAML `limits:`); docs/configuration.md lists where each
/// applies. Past one, the input is refused with a message naming the field and the limit.
public struct LimitsConfig: Sendable, Hashable {
    /// `max_name_length`, default 256 bytes: metric and label names, log components, modules, functions and
    /// sources, span and event names, rule names, silence creators.
    public var maxNameLength: Int = 256
    /// `max_text_length`, default 4096 bytes: HELP texts, rule descriptions, queries, conditions, label and
    /// annotation values of rules, silence comments and acknowledgement messages.
    public var maxTextLength: Int = 4096
    /// `max_fields_size`, default 65536 bytes: a log entry's `fields`, or a span's attributes and events, as JSON.
    public var maxFieldsSize: Int = 65_536
    /// `max_rules`, default 10000: alert rules the host holds (from files and the API together); another one
    /// created over the API is refused.
    public var maxRules: Int = 10_000
    /// `max_silences`, default 10000: silences in effect or scheduled; another one is refused.
    public var maxSilences: Int = 10_000

    public init() {}
    public static let `default` = LimitsConfig()
}

/// The embedded database (YAML `storage:`).
public struct StorageConfig: Sendable, Hashable {
    /// `path`, env `STEPFLOW_MONITORING_STORAGE_PATH`, default `stepflow-monitoring.sqlite`:
    /// the SQLite file; a relative path is taken from the working directory.
    public var path: String = "stepflow-monitoring.sqlite"
    /// `busy_timeout`, default 5s: how long a writer waits for a lock held by another connection.
    public var busyTimeout: Duration = .seconds(5)
    /// `synchronous`, env `STEPFLOW_MONITORING_STORAGE_SYNCHRONOUS`, default `normal`: SQLite's `synchronous` in WAL
    /// mode. `normal`: a committed row survives the process being killed, and the last transactions before a power
    /// loss may be lost; `full`: they survive a power loss too, at the cost of an fsync per transaction.
    public var synchronous: String = "normal"
    /// `integrity_check_interval`, default 6h: how often SQLite's quick integrity check runs (and once at
    /// start for a file under 256 MiB); a file that fails it is reported unhealthy and no longer written.
    public var integrityCheckInterval: Duration = .seconds(6 * 3600)

    public init() {}
    public static let `default` = StorageConfig()
}

/// Plugin and built-in job scheduling (YAML `scheduler:`).
public struct SchedulerConfig: Sendable, Hashable {
    /// `default_timeout`, default 10s: the deadline of a plugin call when the plugin sets no `timeout`.
    public var defaultTimeout: Duration = .seconds(10)
    /// `max_backoff`, default 5m: the longest a failing job waits before its next try.
    public var maxBackoff: Duration = .seconds(300)
    /// `jitter`, default 0.1: each wait is lengthened by up to this fraction of the interval, at random.
    public var jitter: Double = 0.1
    /// `breaker_failures`, default 5: consecutive failures that open a job's circuit breaker.
    public var breakerFailures: Int = 5
    /// `breaker_cooldown`, default 1m: how long an open breaker makes no calls before one trial call
    /// (half-open); never longer than `max_backoff`.
    public var breakerCooldown: Duration = .seconds(60)

    public init() {}
    public static let `default` = SchedulerConfig()
}

/// One plugin to load (an item of YAML `plugins:`).
public struct PluginConfig: Sendable, Hashable {
    /// `name`: how the plugin is called in logs, metrics and `/health`; defaults to the descriptor's name.
    public var name: String?
    /// `path` (required): the shared library. A relative path is looked up beside the config file, then in the
    /// directory of the `stepflow-monitor` executable (where `swift build` puts the example plugins).
    public var path: String
    /// `enabled`, default true.
    public var enabled: Bool = true
    /// `interval`: how often the plugin is called; defaults to the plugin's own default interval.
    public var interval: Duration?
    /// `timeout`: the deadline of one call; defaults to `scheduler.default_timeout`.
    public var timeout: Duration?
    /// `settings`: plugin-specific keys, passed to the plugin's `create` as text pairs.
    public var settings: [String: JSONValue] = [:]
    /// `isolation`, default `in-process`: where the plugin runs.
    public var isolation: PluginIsolation = .inProcess
    /// `budgets`: how much one plugin may emit.
    public var budgets = PluginBudgets()
    /// `limits`: resource limits applied to the plugin's runner process; only with `isolation: process`.
    public var limits: PluginLimits = .none
    /// `stale_after`: how long a series of this plugin stays after the plugin last reported it; defaults to the
    /// longer of `metrics.series_expiry` and twice the plugin's interval.
    public var staleAfter: Duration?
    /// `labels`: added to every sample the plugin emits, replacing a label of the same name the plugin gave, so
    /// that two instances of one plugin own distinct series. Sorted by name.
    public var labels: [Label] = []
    /// `sha256`: the library's SHA-256 digest (lower-case hex); when set, a library with another digest is refused
    /// before any of its code runs (`stepflow-monitor plugins inspect` prints the digest to pin).
    public var sha256: String?

    public init(
        name: String? = nil,
        path: String,
        enabled: Bool = true,
        interval: Duration? = nil,
        timeout: Duration? = nil,
        settings: [String: JSONValue] = [:],
        isolation: PluginIsolation = .inProcess,
        limits: PluginLimits = .none
    ) {
        self.name = name
        self.path = path
        self.enabled = enabled
        self.interval = interval
        self.timeout = timeout
        self.settings = settings
        self.isolation = isolation
        self.limits = limits
    }
}

/// Resource limits of a `process`-isolated plugin (YAML `plugins[].limits`), applied with `setrlimit` in the
/// runner process before it loads the plugin. The runner itself (a Swift program) needs some address space too.
public struct PluginLimits: Sendable, Hashable {
    /// `limits.memory`: the runner's address-space limit (`RLIMIT_AS`) in bytes; YAML takes an integer or a
    /// number with a `KiB`, `MiB` or `GiB` suffix. `nil` (the default) leaves it unlimited.
    public var memoryBytes: Int?
    /// `limits.cpu_time`: the runner's CPU-time limit (`RLIMIT_CPU`), rounded up to whole seconds; past it the
    /// kernel kills the runner with SIGXCPU and it is restarted. `nil` (the default) leaves it unlimited.
    public var cpuTime: Duration?
    /// `limits.recycle_after_failures`: after this many failed calls in a row the runner is restarted with
    /// backoff, as after a crash (a plugin that keeps failing under its limits gets a fresh process); `0` never.
    /// `nil` (the default) means ``defaultRecycleAfterFailures``. A call that returns `STEPFLOW_ERR_NOMEM`
    /// restarts the runner at once.
    public var recycleAfterFailures: Int?

    /// The failed calls in a row after which a runner is restarted when `recycle_after_failures` is not set.
    public static let defaultRecycleAfterFailures = 5

    /// No limits.
    public static let none = PluginLimits()

    public init(memoryBytes: Int? = nil, cpuTime: Duration? = nil, recycleAfterFailures: Int? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuTime = cpuTime
        self.recycleAfterFailures = recycleAfterFailures
    }

    /// Whether no limit is set.
    public var isEmpty: Bool { memoryBytes == nil && cpuTime == nil && recycleAfterFailures == nil }

    /// The failed calls in a row after which the runner is restarted; `nil` never.
    public var failuresBeforeRecycle: Int? {
        let count = recycleAfterFailures ?? Self.defaultRecycleAfterFailures
        return count > 0 ? count : nil
    }

    /// ``cpuTime`` in whole seconds, rounded up (at least 1), as `RLIMIT_CPU` counts it.
    public var cpuSeconds: Int? {
        guard let cpuTime else { return nil }
        let (seconds, attoseconds) = cpuTime.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}

/// Where a plugin runs (YAML `plugins[].isolation`).
public enum PluginIsolation: String, Sendable, Hashable, CaseIterable {
    /// `in-process`: loaded into the host. Cheapest; a crash in the plugin takes the host down, and a stuck
    /// call cannot be interrupted (the plugin is quarantined until it returns).
    case inProcess = "in-process"
    /// `process`: loaded into a child `stepflow-monitor plugin-runner` process. A crash or a missed deadline
    /// costs only the runner, which is restarted with backoff.
    case process
}

/// How much one plugin may emit (YAML `plugins[].budgets`). Whatever passes a budget is cut at it, counted in
/// `stepflow_plugin_refused_samples_total{reason="over_budget"}` and logged once per collection.
public struct PluginBudgets: Sendable, Hashable {
    /// `metrics_per_collection`, default 100000: samples one call of `collect_metrics` may hand over.
    public var metricsPerCollection: Int = 100_000
    /// `series`, default 10000: distinct series (name plus labels) the plugin may create over its life.
    public var series: Int = 10_000
    /// `log_bytes_per_batch`, default 1048576 (1 MiB): the most bytes of log records (message plus fields) one
    /// `export_logs` call hands a log-exporter plugin; the rest waits for the next call.
    public var logBytesPerBatch: Int = 1 << 20

    public init(metricsPerCollection: Int = 100_000, series: Int = 10_000, logBytesPerBatch: Int = 1 << 20) {
        self.metricsPerCollection = metricsPerCollection
        self.series = series
        self.logBytesPerBatch = logBytesPerBatch
    }
}
