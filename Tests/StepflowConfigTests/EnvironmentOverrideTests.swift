@testable import StepflowConfig
import StepflowCore
import Testing

/// One variable, a value for it, and what that value must change in the default configuration.
struct EnvironmentCase: Sendable, CustomTestStringConvertible {
    let variable: String
    let value: String
    let change: @Sendable (inout MonitoringConfiguration) -> Void

    init(_ variable: String, _ value: String, _ change: @escaping @Sendable (inout MonitoringConfiguration) -> Void) {
        self.variable = "STEPFLOW_MONITORING_" + variable
        self.value = value
        self.change = change
    }

    var testDescription: String { "\(variable)=\(value)" }
}

/// Every variable of the spec's environment section, plus HTTP_ADDRESS and STORAGE_PATH.
let environmentCases: [EnvironmentCase] = [
    .init("METRICS_COLLECTION_INTERVAL", "15") { $0.metrics.collectionInterval = .seconds(15) },
    .init("METRICS_RETENTION_DAYS", "14") { $0.metrics.retentionDays = 14 },
    .init("METRICS_MAX_BATCH_SIZE", "500") { $0.metrics.maxMetricsPerBatch = 500 },
    .init("METRICS_ENABLE_AGGREGATION", "false") { $0.metrics.enableAggregation = false },
    .init("METRICS_AGGREGATION_INTERVAL", "10m") { $0.metrics.aggregationInterval = .seconds(600) },
    .init("METRICS_ENABLE_EXPORT", "true") { $0.metrics.enableExport = true },
    .init("METRICS_EXPORT_INTERVAL", "90") { $0.metrics.exportInterval = .seconds(90) },
    .init("METRICS_HISTOGRAM_BUCKETS", "0.5,1,2") { $0.metrics.histogramBuckets = [0.5, 1, 2] },
    .init("METRICS_SUMMARY_QUANTILES", "0.5, 0.75") { $0.metrics.summaryQuantiles = [0.5, 0.75] },
    .init("LOGS_SOURCE", "billing") { $0.logs.source = "billing" },
    .init("LOGS_RETENTION_DAYS", "30") { $0.logs.retentionDays = 30 },
    .init("LOGS_MAX_SIZE", "2048") { $0.logs.maxLogSize = 2048 },
    .init("LOGS_ENABLE_COMPRESSION", "false") { $0.logs.enableCompression = false },
    .init("LOGS_ENABLE_ROTATION", "FALSE") { $0.logs.enableRotation = false },
    .init("LOGS_ROTATION_SIZE", "4096") { $0.logs.rotationSize = 4096 },
    .init("LOGS_ENABLE_EXPORT", "1") { $0.logs.enableExport = true },
    .init("LOGS_EXPORT_INTERVAL", "1h") { $0.logs.exportInterval = .seconds(3600) },
    .init("LOGS_EXPORT_FILE", "/var/log/stepflow/logs.ndjson") { $0.logs.exportFile = "/var/log/stepflow/logs.ndjson" },
    .init("TRACING_SAMPLING_RATE", "0.25") { $0.tracing.samplingRate = 0.25 },
    .init("TRACING_MAX_DURATION", "120") { $0.tracing.maxTraceDuration = .seconds(120) },
    .init("TRACING_RETENTION_DAYS", "3") { $0.tracing.retentionDays = 3 },
    .init("TRACING_ENABLE_EXPORT", "true") { $0.tracing.enableExport = true },
    .init("TRACING_EXPORT_INTERVAL", "30s") { $0.tracing.exportInterval = .seconds(30) },
    .init("TRACING_ENABLE_SAMPLING", "false") { $0.tracing.enableSampling = false },
    .init("PROFILER_SPAN_METRICS", "false") { $0.profiler.spanMetrics = false },
    .init("ALERTS_EVALUATION_INTERVAL", "10") { $0.alerts.evaluationInterval = .seconds(10) },
    .init("ALERTS_DEFAULT_FOR_DURATION", "2m") { $0.alerts.defaultForDuration = .seconds(120) },
    .init("ALERTS_MAX_PER_RULE", "7") { $0.alerts.maxAlertsPerRule = 7 },
    .init("ALERTS_RETENTION_DAYS", "0") { $0.alerts.retentionDays = 0 },
    .init("HTTP_AUTH_TOKEN", "t0ken") { $0.http.authToken = "t0ken" },
    .init("HTTP_ALLOWED_ORIGINS", "https://a.example") { $0.http.allowedOrigins = "https://a.example" },
    .init("HTTP_ALLOWED_HOSTS", "monitor.example") { $0.http.allowedHosts = "monitor.example" },
    .init("HTTP_ACKNOWLEDGE", "queued") { $0.http.acknowledge = "queued" },
    .init("STORAGE_SYNCHRONOUS", "full") { $0.storage.synchronous = "full" },
    .init("ALERTS_ENABLE_NOTIFICATIONS", "no") { $0.alerts.enableNotifications = false },
    .init("ALERTS_NOTIFICATION_TIMEOUT", "500ms") { $0.alerts.notificationTimeout = .milliseconds(500) },
    .init("ALERTS_ENABLE_SILENCING", "off") { $0.alerts.enableSilencing = false },
    .init("ALERTS_WEBHOOK_URL", "http://127.0.0.1:9000/hook") { $0.alerts.webhookURL = "http://127.0.0.1:9000/hook" },
    .init("ALERTS_ALERTMANAGER_URL", "http://127.0.0.1:9093") { $0.alerts.alertmanagerURL = "http://127.0.0.1:9093" },
    .init("PROMETHEUS_ENDPOINT", "https://prom.example:9090/api/v1/write") {
        $0.exporters.prometheus.endpoint = "https://prom.example:9090/api/v1/write"
    },
    .init("ELASTICSEARCH_URL", "http://es:9200") { $0.exporters.elasticsearch.url = "http://es:9200" },
    .init("ELASTICSEARCH_LOG_INDEX", "logs-a") { $0.exporters.elasticsearch.logIndex = "logs-a" },
    .init("ELASTICSEARCH_METRICS_INDEX", "metrics-a") { $0.exporters.elasticsearch.metricsIndex = "metrics-a" },
    .init("ELASTICSEARCH_TRACES_INDEX", "traces-a") { $0.exporters.elasticsearch.tracesIndex = "traces-a" },
    .init("ELASTICSEARCH_PASSWORD", "s3cret") { $0.exporters.elasticsearch.password = "s3cret" },
    .init("ELASTICSEARCH_API_KEY", "a2V5") { $0.exporters.elasticsearch.apiKey = "a2V5" },
    .init("ELASTICSEARCH_ENABLED", "true") { $0.exporters.elasticsearch.enabled = true },
    .init("PROMETHEUS_ENABLED", "yes") { $0.exporters.prometheus.enabled = true },
    .init("EXTERNAL_LABELS", "host=web-1, region=eu%2Dwest") { $0.exporters.externalLabels = ["host": "web-1", "region": "eu-west"] },
    .init("OTLP_ENABLED", "on") { $0.exporters.otlp.enabled = true },
    .init("OTLP_ENDPOINT", "https://collector:4318") { $0.exporters.otlp.endpoint = "https://collector:4318" },
    .init("OTLP_HEADERS", "Authorization=Bearer%20abc,X-Tenant=t1") {
        $0.exporters.otlp.headers = ["Authorization": "Bearer abc", "X-Tenant": "t1"]
    },
    .init("OTLP_SERVICE_NAME", "edge") { $0.exporters.otlp.serviceName = "edge" },
    .init("OTLP_RESOURCE_ATTRIBUTES", "deployment.environment=prod") {
        $0.exporters.otlp.resourceAttributes = ["deployment.environment": "prod"]
    },
    .init("HEALTH_CHECK_INTERVAL", "45") { $0.health.checkInterval = .seconds(45) },
    .init("HEALTH_CHECK_TIMEOUT", "2s") { $0.health.checkTimeout = .seconds(2) },
    .init("HEALTH_CHECK_RETRIES", "5") { $0.health.checkRetries = 5 },
    .init("HEALTH_CHECK_ENABLE_HTTP", "false") { $0.http.enabled = false },
    .init("HEALTH_CHECK_HTTP_PORT", "9091") { $0.http.port = 9091 },
    .init("HTTP_ADDRESS", "0.0.0.0") { $0.http.address = "0.0.0.0" },
    .init("SECURITY_PUBLIC_ENDPOINTS", "health") { $0.security.publicEndpoints = "health" },
    .init("STORAGE_PATH", "/var/lib/stepflow/monitoring.sqlite") {
        $0.storage.path = "/var/lib/stepflow/monitoring.sqlite"
    },
]

@Suite("STEPFLOW_MONITORING_* environment overrides")
struct EnvironmentOverrideTests {
    @Test("each variable overrides its key and nothing else", arguments: environmentCases)
    func variableOverridesItsKey(_ testCase: EnvironmentCase) throws {
        var expected = MonitoringConfiguration.default
        testCase.change(&expected)
        #expect(expected != .default, "the case must change something")
        let configuration = try ConfigurationLoader.parse(
            yaml: "", file: "c.yaml", environment: [testCase.variable: testCase.value])
        #expect(configuration == expected)
    }

    @Test("the table covers every variable the loader knows, and no other")
    func tableCoversEveryVariable() {
        let known = Set(ConfigurationSchema.settings.compactMap(\.environmentVariable))
        #expect(Set(environmentCases.map(\.variable)) == known)
        #expect(known.count == 62)
    }

    @Test("a bad value names the variable and the key path, and is reported with every other one")
    func badValuesAreIssues() {
        let issues = parseIssues("", environment: [
            "STEPFLOW_MONITORING_HEALTH_CHECK_HTTP_PORT": "eighty",
            "STEPFLOW_MONITORING_TRACING_SAMPLING_RATE": "1.5",
            "STEPFLOW_MONITORING_METRICS_COLLECTION_INTERVAL": "-5s",
        ])
        #expect(issues.map(\.description) == [
            "$STEPFLOW_MONITORING_HEALTH_CHECK_HTTP_PORT: http.port: expected an integer, found 'eighty'; "
                + "fix or unset the variable",
            "$STEPFLOW_MONITORING_METRICS_COLLECTION_INTERVAL: metrics.collection_interval: must be longer than "
                + "zero, found -5s; fix or unset the variable",
            "$STEPFLOW_MONITORING_TRACING_SAMPLING_RATE: tracing.sampling_rate: must be between 0 and 1, found 1.5; "
                + "fix or unset the variable",
        ])
        #expect(issues.allSatisfy { $0.file == nil && $0.line == nil })
    }

    @Test("an unknown STEPFLOW_MONITORING_ variable is reported with the closest known one")
    func unknownVariableHasSuggestion() {
        let issues = parseIssues("", environment: ["STEPFLOW_MONITORING_METRICS_RETENTON_DAYS": "3"])
        #expect(issues.count == 1)
        #expect(issues.first?.suggestion == "STEPFLOW_MONITORING_METRICS_RETENTION_DAYS")
        #expect(issues.first?.description == "$STEPFLOW_MONITORING_METRICS_RETENTON_DAYS: unknown configuration "
            + "variable; rename or unset it (did you mean 'STEPFLOW_MONITORING_METRICS_RETENTION_DAYS'?)")
    }

    @Test("STEPFLOW_MONITORING_CONFIG and variables without the prefix are left alone")
    func reservedAndForeignVariablesAreIgnored() {
        #expect(parseIssues("", environment: [
            "STEPFLOW_MONITORING_CONFIG": "/etc/stepflow.yaml", "HOME": "/root", "STEPFLOW_OTHER": "x",
        ]).isEmpty)
    }
}
