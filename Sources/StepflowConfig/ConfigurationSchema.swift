import StepflowCore

/// The one table of every scalar configuration key: its YAML path, its environment variable, its Swift property
/// and its allowed values. Decoding, environment overrides, rendering and the reference all read it.
///
/// `plugins:` is a list and is described by ``pluginKeys`` instead.
enum ConfigurationSchema {
    /// The prefix of every variable the loader reads.
    static let environmentPrefix = "STEPFLOW_MONITORING_"

    /// The root key of the plugin list.
    static let pluginsKey = "plugins"

    /// The keys of one `plugins:` item, in the order they are rendered.
    static let pluginKeys = [
        "name", "path", "enabled", "isolation", "interval", "timeout", "stale_after", "labels", "budgets", "limits",
        "settings", "sha256",
    ]

    /// The keys of a plugin's `budgets:` mapping.
    static let pluginBudgetKeys = ["metrics_per_collection", "series", "log_bytes_per_batch"]

    /// The keys of a plugin's `limits:` mapping.
    static let pluginLimitKeys = ["memory", "cpu_time", "recycle_after_failures"]

    /// The section holding the rule lists, and its two list keys.
    static let alertsPath = ["alerts"]
    static let rulesKey = "rules"
    static let ruleFilesKey = "rule_files"

    /// The keys of one alert rule, in the order they are rendered.
    static let ruleKeys = [
        "name", "description", "query", "condition", "severity", "labels", "annotations", "for",
        "evaluation_interval", "keep_firing_for", "enabled",
    ]

    /// The section holding the token list, its list key and the keys of one token.
    static let securityPath = ["security"]
    static let tokensKey = "tokens"
    static let tokenKeys = ["name", "role", "token_sha256", "token_file", "token_env"]

    /// The section holding the process groups, its list key, the keys of one group and of its `match`.
    static let profilerPath = ["profiler"]
    static let processesKey = "processes"
    static let processGroupKeys = ["name", "match", "track_children"]
    static let processMatchKeys = ["comm", "exe", "cmdline", "user", "cgroup"]

    /// The smallest `limits.memory`. The runner (a Swift program) takes 500–570 MiB of address space itself
    /// (debug build); below 256 MiB it cannot even create the plugin.
    static let minimumMemoryLimit = 256 << 20

    /// Every scalar key, in the order of `config.yaml`.
    static let settings: [ConfigurationSetting] = [
        .init("metrics.collection_interval", env: "METRICS_COLLECTION_INTERVAL",
              .duration(\.metrics.collectionInterval), .positive),
        .init("metrics.retention_days", env: "METRICS_RETENTION_DAYS", .integer(\.metrics.retentionDays), .nonNegative),
        .init("metrics.max_metrics_per_batch", env: "METRICS_MAX_BATCH_SIZE",
              .integer(\.metrics.maxMetricsPerBatch), .atLeastOne),
        .init("metrics.enable_aggregation", env: "METRICS_ENABLE_AGGREGATION", .boolean(\.metrics.enableAggregation)),
        .init("metrics.aggregation_interval", env: "METRICS_AGGREGATION_INTERVAL",
              .duration(\.metrics.aggregationInterval), .positive),
        .init("metrics.enable_export", env: "METRICS_ENABLE_EXPORT", .boolean(\.metrics.enableExport)),
        .init("metrics.export_interval", env: "METRICS_EXPORT_INTERVAL",
              .duration(\.metrics.exportInterval), .positive),
        .init("metrics.flush_interval", .duration(\.metrics.flushInterval), .positive),
        .init("metrics.max_queue_size", .integer(\.metrics.maxQueueSize), .atLeastOne),
        .init("metrics.max_labels_per_series", .integer(\.metrics.maxLabelsPerSeries), .atLeastOne),
        .init("metrics.max_label_value_length", .integer(\.metrics.maxLabelValueLength), .atLeastOne),
        .init("metrics.max_series_per_metric", .integer(\.metrics.maxSeriesPerMetric), .atLeastOne),
        .init("metrics.max_series", .integer(\.metrics.maxSeries), .atLeastOne),
        .init("metrics.histogram_buckets", env: "METRICS_HISTOGRAM_BUCKETS",
              .numbers(\.metrics.histogramBuckets), .bucketBounds),
        .init("metrics.histograms", .namedNumbers(\.metrics.histograms), .bucketBounds),
        .init("metrics.summary_quantiles", env: "METRICS_SUMMARY_QUANTILES",
              .numbers(\.metrics.summaryQuantiles), .quantiles),
        .init("metrics.summary_max_age", .duration(\.metrics.summaryMaxAge), .positive),
        .init("metrics.summary_max_samples", .integer(\.metrics.summaryMaxSamples), .atLeastOne),
        .init("metrics.backpressure_timeout", .duration(\.metrics.backpressureTimeout), .positive),
        .init("metrics.series_expiry", .duration(\.metrics.seriesExpiry), .any),

        .init("logs.source", env: "LOGS_SOURCE", .text(\.logs.source), .nonEmpty),
        .init("logs.retention_days", env: "LOGS_RETENTION_DAYS", .integer(\.logs.retentionDays), .nonNegative),
        .init("logs.max_log_size", env: "LOGS_MAX_SIZE", .integer(\.logs.maxLogSize), .atLeastOne),
        .init("logs.enable_compression", env: "LOGS_ENABLE_COMPRESSION", .boolean(\.logs.enableCompression)),
        .init("logs.enable_rotation", env: "LOGS_ENABLE_ROTATION", .boolean(\.logs.enableRotation)),
        .init("logs.rotation_size", env: "LOGS_ROTATION_SIZE", .integer(\.logs.rotationSize), .atLeastOne),
        .init("logs.enable_export", env: "LOGS_ENABLE_EXPORT", .boolean(\.logs.enableExport)),
        .init("logs.export_interval", env: "LOGS_EXPORT_INTERVAL", .duration(\.logs.exportInterval), .positive),
        .init("logs.export_file", env: "LOGS_EXPORT_FILE", .text(\.logs.exportFile)),
        .init("logs.max_rotated_files", .integer(\.logs.maxRotatedFiles), .atLeastOne),
        .init("logs.flush_interval", .duration(\.logs.flushInterval), .positive),
        .init("logs.max_queue_size", .integer(\.logs.maxQueueSize), .atLeastOne),

        .init("tracing.sampling_rate", env: "TRACING_SAMPLING_RATE", .number(\.tracing.samplingRate), .unitInterval),
        .init("tracing.max_trace_duration", env: "TRACING_MAX_DURATION",
              .duration(\.tracing.maxTraceDuration), .positive),
        .init("tracing.retention_days", env: "TRACING_RETENTION_DAYS", .integer(\.tracing.retentionDays), .nonNegative),
        .init("tracing.enable_export", env: "TRACING_ENABLE_EXPORT", .boolean(\.tracing.enableExport)),
        .init("tracing.export_interval", env: "TRACING_EXPORT_INTERVAL",
              .duration(\.tracing.exportInterval), .positive),
        .init("tracing.enable_sampling", env: "TRACING_ENABLE_SAMPLING", .boolean(\.tracing.enableSampling)),
        .init("tracing.max_open_spans", .integer(\.tracing.maxOpenSpans), .atLeastOne),
        .init("tracing.flush_interval", .duration(\.tracing.flushInterval), .positive),

        .init("alerts.evaluation_interval", env: "ALERTS_EVALUATION_INTERVAL",
              .duration(\.alerts.evaluationInterval), .positive),
        .init("alerts.default_for_duration", env: "ALERTS_DEFAULT_FOR_DURATION",
              .duration(\.alerts.defaultForDuration), .positive),
        .init("alerts.max_alerts_per_rule", env: "ALERTS_MAX_PER_RULE",
              .integer(\.alerts.maxAlertsPerRule), .atLeastOne),
        .init("alerts.enable_notifications", env: "ALERTS_ENABLE_NOTIFICATIONS",
              .boolean(\.alerts.enableNotifications)),
        .init("alerts.notification_timeout", env: "ALERTS_NOTIFICATION_TIMEOUT",
              .duration(\.alerts.notificationTimeout), .positive),
        .init("alerts.enable_silencing", env: "ALERTS_ENABLE_SILENCING", .boolean(\.alerts.enableSilencing)),
        .init("alerts.webhook_url", env: "ALERTS_WEBHOOK_URL", .text(\.alerts.webhookURL), .httpURLOrEmpty),
        .init("alerts.alertmanager_url", env: "ALERTS_ALERTMANAGER_URL", .text(\.alerts.alertmanagerURL), .httpURLOrEmpty),
        .init("alerts.webhook_tls.ca_file", .text(\.alerts.webhookTLS.caFile)),
        .init("alerts.webhook_tls.insecure_skip_verify", .boolean(\.alerts.webhookTLS.insecureSkipVerify)),
        .init("alerts.alertmanager_tls.ca_file", .text(\.alerts.alertmanagerTLS.caFile)),
        .init("alerts.alertmanager_tls.insecure_skip_verify", .boolean(\.alerts.alertmanagerTLS.insecureSkipVerify)),
        .init("alerts.retention_days", env: "ALERTS_RETENTION_DAYS", .integer(\.alerts.retentionDays), .nonNegative),
        .init("alerts.log_notifications", .boolean(\.alerts.logNotifications)),

        .init("health.check_interval", env: "HEALTH_CHECK_INTERVAL", .duration(\.health.checkInterval), .positive),
        .init("health.check_timeout", env: "HEALTH_CHECK_TIMEOUT", .duration(\.health.checkTimeout), .positive),
        .init("health.check_retries", env: "HEALTH_CHECK_RETRIES", .integer(\.health.checkRetries), .atLeastOne),

        .init("exporters.external_labels", env: "EXTERNAL_LABELS", .namedTexts(\.exporters.externalLabels), .labelNames),
        .init("exporters.prometheus.enabled", env: "PROMETHEUS_ENABLED", .boolean(\.exporters.prometheus.enabled)),
        .init("exporters.prometheus.endpoint", env: "PROMETHEUS_ENDPOINT",
              .text(\.exporters.prometheus.endpoint), .httpURL),
        .init("exporters.prometheus.tls.ca_file", .text(\.exporters.prometheus.tls.caFile)),
        .init("exporters.prometheus.tls.insecure_skip_verify", .boolean(\.exporters.prometheus.tls.insecureSkipVerify)),
        .init("exporters.elasticsearch.enabled", env: "ELASTICSEARCH_ENABLED", .boolean(\.exporters.elasticsearch.enabled)),
        .init("exporters.elasticsearch.url", env: "ELASTICSEARCH_URL", .text(\.exporters.elasticsearch.url), .httpURL),
        .init("exporters.elasticsearch.log_index", env: "ELASTICSEARCH_LOG_INDEX",
              .text(\.exporters.elasticsearch.logIndex), .indexName),
        .init("exporters.elasticsearch.metrics_index", env: "ELASTICSEARCH_METRICS_INDEX",
              .text(\.exporters.elasticsearch.metricsIndex), .indexName),
        .init("exporters.elasticsearch.traces_index", env: "ELASTICSEARCH_TRACES_INDEX",
              .text(\.exporters.elasticsearch.tracesIndex), .indexName),
        .init("exporters.elasticsearch.username", .text(\.exporters.elasticsearch.username)),
        .init("exporters.elasticsearch.password", env: "ELASTICSEARCH_PASSWORD", .text(\.exporters.elasticsearch.password)),
        .init("exporters.elasticsearch.api_key", env: "ELASTICSEARCH_API_KEY", .text(\.exporters.elasticsearch.apiKey), .headerValue),
        .init("exporters.elasticsearch.gzip", .boolean(\.exporters.elasticsearch.gzip)),
        .init("exporters.elasticsearch.max_batch_documents", .integer(\.exporters.elasticsearch.maxBatchDocuments), .atLeastOne),
        .init("exporters.elasticsearch.max_batch_bytes", .integer(\.exporters.elasticsearch.maxBatchBytes), .atLeastOne),
        .init("exporters.elasticsearch.max_backlog_age", .duration(\.exporters.elasticsearch.maxBacklogAge), .positive),
        .init("exporters.elasticsearch.timeout", .duration(\.exporters.elasticsearch.timeout), .positive),
        .init("exporters.elasticsearch.tls.ca_file", .text(\.exporters.elasticsearch.tls.caFile)),
        .init("exporters.elasticsearch.tls.insecure_skip_verify", .boolean(\.exporters.elasticsearch.tls.insecureSkipVerify)),
        .init("exporters.otlp.enabled", env: "OTLP_ENABLED", .boolean(\.exporters.otlp.enabled)),
        .init("exporters.otlp.endpoint", env: "OTLP_ENDPOINT", .text(\.exporters.otlp.endpoint), .httpURL),
        .init("exporters.otlp.headers", env: "OTLP_HEADERS", .namedTexts(\.exporters.otlp.headers), .httpHeaders),
        .init("exporters.otlp.gzip", .boolean(\.exporters.otlp.gzip)),
        .init("exporters.otlp.timeout", .duration(\.exporters.otlp.timeout), .positive),
        .init("exporters.otlp.traces", .boolean(\.exporters.otlp.traces)),
        .init("exporters.otlp.logs", .boolean(\.exporters.otlp.logs)),
        .init("exporters.otlp.metrics", .boolean(\.exporters.otlp.metrics)),
        .init("exporters.otlp.service_name", env: "OTLP_SERVICE_NAME", .text(\.exporters.otlp.serviceName), .nonEmpty),
        .init("exporters.otlp.resource_attributes", env: "OTLP_RESOURCE_ATTRIBUTES", .namedTexts(\.exporters.otlp.resourceAttributes)),
        .init("exporters.otlp.max_batch_items", .integer(\.exporters.otlp.maxBatchItems), .atLeastOne),
        .init("exporters.otlp.max_backlog_age", .duration(\.exporters.otlp.maxBacklogAge), .positive),
        .init("exporters.otlp.tls.ca_file", .text(\.exporters.otlp.tls.caFile)),
        .init("exporters.otlp.tls.insecure_skip_verify", .boolean(\.exporters.otlp.tls.insecureSkipVerify)),

        .init("http.enabled", env: "HEALTH_CHECK_ENABLE_HTTP", .boolean(\.http.enabled)),
        .init("http.address", env: "HTTP_ADDRESS", .text(\.http.address), .nonEmpty),
        .init("http.port", env: "HEALTH_CHECK_HTTP_PORT", .integer(\.http.port), .port),
        .init("http.max_body_size", .integer(\.http.maxBodySize), .atLeastOne),
        .init("http.max_control_body_size", .integer(\.http.maxControlBodySize), .atLeastOne),
        .init("http.max_concurrent_requests", .integer(\.http.maxConcurrentRequests), .atLeastOne),
        .init("http.auth_token", env: "HTTP_AUTH_TOKEN", .text(\.http.authToken)),
        .init("http.acknowledge", env: "HTTP_ACKNOWLEDGE", .text(\.http.acknowledge), .oneOf(["committed", "queued"])),
        .init("http.commit_timeout", .duration(\.http.commitTimeout), .positive),
        .init("http.idle_timeout", .duration(\.http.idleTimeout), .positive),
        .init("http.max_connections", .integer(\.http.maxConnections), .atLeastOne),
        .init("http.query_timeout", .duration(\.http.queryTimeout), .positive),
        .init("http.max_json_depth", .integer(\.http.maxJSONDepth), .atLeastOne),
        .init("http.allowed_origins", env: "HTTP_ALLOWED_ORIGINS", .text(\.http.allowedOrigins)),
        .init("http.allowed_hosts", env: "HTTP_ALLOWED_HOSTS", .text(\.http.allowedHosts)),
        .init("http.tls.certificate", .text(\.http.tls.certificate)),
        .init("http.tls.private_key", .text(\.http.tls.privateKey)),
        .init("http.tls.client_ca", .text(\.http.tls.clientCA)),

        .init("security.public_endpoints", env: "SECURITY_PUBLIC_ENDPOINTS", .text(\.security.publicEndpoints),
              .commaSeparatedSubset(of: SecurityConfig.PublicEndpoint.allCases.map(\.rawValue))),
        .init("security.client_certificate_roles", .text(\.security.clientCertificateRoles), .namedRoles),
        .init("security.verify_plugin_files", .boolean(\.security.verifyPluginFiles)),
        .init("security.plugin_owners", .text(\.security.pluginOwners)),
        .init("security.rate_limit", .number(\.security.rateLimit), .nonNegativeNumber),
        .init("security.rate_limit_burst", .integer(\.security.rateLimitBurst), .atLeastOne),
        .init("security.auth_failure_limit", .integer(\.security.authFailureLimit), .nonNegative),
        .init("security.auth_lockout", .duration(\.security.authLockout), .positive),
        .init("security.file_mode", .text(\.security.fileMode), .fileMode),
        .init("security.redact_keys", .text(\.security.redactKeys)),
        .init("security.redact_values", .text(\.security.redactValues), .regexOrEmpty),

        .init("profiler.scan_interval", .duration(\.profiler.scanInterval), .positive),
        .init("profiler.proportional_memory", .boolean(\.profiler.proportionalMemory)),
        .init("profiler.span_metrics", env: "PROFILER_SPAN_METRICS", .boolean(\.profiler.spanMetrics)),
        .init("profiler.span_buckets", .numbers(\.profiler.spanBuckets), .bucketBounds),
        // Each operation holds its series in memory and on /metrics: bounded like a metric's series.
        .init("profiler.max_operations", .integer(\.profiler.maxOperations), .integerRange(1...10_000)),

        .init("limits.max_name_length", .integer(\.limits.maxNameLength), .atLeastOne),
        .init("limits.max_text_length", .integer(\.limits.maxTextLength), .atLeastOne),
        .init("limits.max_fields_size", .integer(\.limits.maxFieldsSize), .atLeastOne),
        .init("limits.max_rules", .integer(\.limits.maxRules), .atLeastOne),
        .init("limits.max_silences", .integer(\.limits.maxSilences), .atLeastOne),

        .init("storage.path", env: "STORAGE_PATH", .text(\.storage.path), .nonEmpty),
        .init("storage.busy_timeout", .duration(\.storage.busyTimeout), .positive),
        .init("storage.synchronous", env: "STORAGE_SYNCHRONOUS", .text(\.storage.synchronous), .oneOf(["normal", "full"])),
        .init("storage.integrity_check_interval", .duration(\.storage.integrityCheckInterval), .positive),

        .init("scheduler.default_timeout", .duration(\.scheduler.defaultTimeout), .positive),
        .init("scheduler.max_backoff", .duration(\.scheduler.maxBackoff), .positive),
        .init("scheduler.jitter", .number(\.scheduler.jitter), .unitInterval),
        .init("scheduler.breaker_failures", .integer(\.scheduler.breakerFailures), .atLeastOne),
        .init("scheduler.breaker_cooldown", .duration(\.scheduler.breakerCooldown), .positive),
    ]

    /// The setting at exactly `path`, if there is one.
    static func setting(at path: [String]) -> ConfigurationSetting? {
        settings.first { $0.path == path }
    }

    /// The keys valid directly under `path`, in table order (the root also has `plugins`).
    static func childKeys(of path: [String]) -> [String] {
        var keys: [String] = []
        for setting in settings where setting.path.count > path.count && setting.path.starts(with: path) {
            let key = setting.path[path.count]
            if !keys.contains(key) { keys.append(key) }
        }
        if path.isEmpty { keys.append(pluginsKey) }
        if path == alertsPath { keys += [ruleFilesKey, rulesKey] }
        if path == securityPath { keys.insert(tokensKey, at: 0) }
        if path == profilerPath { keys.append(processesKey) }
        return keys
    }
}
