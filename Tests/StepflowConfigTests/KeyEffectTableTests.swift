@testable import StepflowConfig
import Foundation
import Testing

/// Issue 17, point 4: no key without an effect. Every documented configuration key has an entry here naming the
/// test that sets it (in YAML or its environment variable, for a running host or the capability built from a loaded
/// configuration) and checks what it changes. The walk below fails when a key is added without a test, when a test
/// named here is renamed or removed, or when its file no longer mentions the key.
@Suite("Every configuration key has a test that shows its effect")
struct KeyEffectTableTests {
    /// Key → the test file (under `Tests/`) and the test's display name, as written in the source.
    static let effects: [String: (file: String, test: String)] = [
        "metrics.collection_interval": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source"#),
        "metrics.retention_days": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"retention_days of metrics, logs, tracing and alerts each delete their own rows past it, and only those"#),
        "metrics.max_metrics_per_batch": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"metrics: max_metrics_per_batch, aggregation_interval, histogram_buckets, histograms and the summary window"#),
        "metrics.enable_aggregation": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source"#),
        "metrics.aggregation_interval": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"metrics: max_metrics_per_batch, aggregation_interval, histogram_buckets, histograms and the summary window"#),
        "metrics.enable_export": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "metrics.export_interval": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "metrics.flush_interval": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"flush_interval of metrics, logs and tracing: how long queued rows wait before the writer takes them"#),
        "metrics.max_queue_size": (file: "StepflowRuntimeTests/HostileInputTests.swift", test: #"a batch the write queue can never take is answered 413 and leaves the series untouched"#),
        "metrics.max_labels_per_series": (file: "StepflowRuntimeTests/SeriesOwnershipTests.swift", test: #"refusals under metrics.* limits count against the plugin, and the warning is logged once, not per collection"#),
        "metrics.max_label_value_length": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"limits and max_label_value_length from the YAML refuse what is past them, naming the key"#),
        "metrics.max_series_per_metric": (file: "StepflowRuntimeTests/MetricsAPITests.swift", test: #"malformed JSON, a wrong shape, a big body and a cardinality limit get clear answers; nothing is lost"#),
        "metrics.max_series": (file: "StepflowRuntimeTests/HostileInputTests.swift", test: #"the collections stored are bounded: series in the host, rules, silences"#),
        "metrics.histogram_buckets": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"metrics: max_metrics_per_batch, aggregation_interval, histogram_buckets, histograms and the summary window"#),
        "metrics.histograms": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"metrics: max_metrics_per_batch, aggregation_interval, histogram_buckets, histograms and the summary window"#),
        "metrics.summary_quantiles": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"metrics: max_metrics_per_batch, aggregation_interval, histogram_buckets, histograms and the summary window"#),
        "metrics.summary_max_age": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"metrics: max_metrics_per_batch, aggregation_interval, histogram_buckets, histograms and the summary window"#),
        "metrics.summary_max_samples": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"metrics: max_metrics_per_batch, aggregation_interval, histogram_buckets, histograms and the summary window"#),
        "metrics.backpressure_timeout": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"a queue full past backpressure_timeout refuses with 503; a batch over max_queue_size is a 413"#),
        "metrics.series_expiry": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source"#),
        "logs.source": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source"#),
        "logs.retention_days": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"retention_days of metrics, logs, tracing and alerts each delete their own rows past it, and only those"#),
        "logs.max_log_size": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"logs: max_log_size cuts messages; the export file rotates at rotation_size, compressed or not, keeping max_rotated_files"#),
        "logs.enable_compression": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"logs: max_log_size cuts messages; the export file rotates at rotation_size, compressed or not, keeping max_rotated_files"#),
        "logs.enable_rotation": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"logs: max_log_size cuts messages; the export file rotates at rotation_size, compressed or not, keeping max_rotated_files"#),
        "logs.rotation_size": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"logs: max_log_size cuts messages; the export file rotates at rotation_size, compressed or not, keeping max_rotated_files"#),
        "logs.enable_export": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "logs.export_interval": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "logs.export_file": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"logs: max_log_size cuts messages; the export file rotates at rotation_size, compressed or not, keeping max_rotated_files"#),
        "logs.max_rotated_files": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"logs: max_log_size cuts messages; the export file rotates at rotation_size, compressed or not, keeping max_rotated_files"#),
        "logs.flush_interval": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"flush_interval of metrics, logs and tracing: how long queued rows wait before the writer takes them"#),
        "logs.max_queue_size": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"a queue full past backpressure_timeout refuses with 503; a batch over max_queue_size is a 413"#),
        "tracing.sampling_rate": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source"#),
        "tracing.max_trace_duration": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"tracing: a span open past max_trace_duration is closed as timed out; past max_open_spans new spans are not kept"#),
        "tracing.retention_days": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"retention_days of metrics, logs, tracing and alerts each delete their own rows past it, and only those"#),
        "tracing.enable_export": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "tracing.export_interval": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "tracing.enable_sampling": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source"#),
        "tracing.max_open_spans": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"tracing: a span open past max_trace_duration is closed as timed out; past max_open_spans new spans are not kept"#),
        "tracing.flush_interval": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"flush_interval of metrics, logs and tracing: how long queued rows wait before the writer takes them"#),
        "alerts.evaluation_interval": (file: "StepflowRuntimeTests/AlertKeyEffectTests.swift", test: #"evaluation_interval, rule_files, rules[].enabled, rules[].keep_firing_for and log_notifications"#),
        "alerts.default_for_duration": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"alerts: default_for_duration, max_alerts_per_rule, enable_notifications and enable_silencing"#),
        "alerts.max_alerts_per_rule": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"alerts: default_for_duration, max_alerts_per_rule, enable_notifications and enable_silencing"#),
        "alerts.enable_notifications": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"alerts: default_for_duration, max_alerts_per_rule, enable_notifications and enable_silencing"#),
        "alerts.notification_timeout": (file: "StepflowRuntimeTests/AlertKeyEffectTests.swift", test: #"notification_timeout cuts a notification to a webhook that never answers"#),
        "alerts.enable_silencing": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"alerts: default_for_duration, max_alerts_per_rule, enable_notifications and enable_silencing"#),
        "alerts.webhook_url": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.alertmanager_url": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.webhook_tls.ca_file": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "alerts.webhook_tls.insecure_skip_verify": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "alerts.alertmanager_tls.ca_file": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "alerts.alertmanager_tls.insecure_skip_verify": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "alerts.retention_days": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"retention_days of metrics, logs, tracing and alerts each delete their own rows past it, and only those"#),
        "alerts.log_notifications": (file: "StepflowRuntimeTests/AlertKeyEffectTests.swift", test: #"evaluation_interval, rule_files, rules[].enabled, rules[].keep_firing_for and log_notifications"#),
        "alerts.rule_files": (file: "StepflowRuntimeTests/AlertKeyEffectTests.swift", test: #"evaluation_interval, rule_files, rules[].enabled, rules[].keep_firing_for and log_notifications"#),
        "alerts.rules[].name": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.rules[].description": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.rules[].query": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.rules[].condition": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.rules[].severity": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.rules[].labels": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.rules[].annotations": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.rules[].for": (file: "StepflowRuntimeTests/AlertingEndToEndTests.swift", test: #"an alert fires from posted samples, reaches every channel once, is acknowledged, then resolves"#),
        "alerts.rules[].evaluation_interval": (file: "StepflowRuntimeTests/SelfMonitoringHostTests.swift", test: #"spans posted over HTTP become RED series, stored like any series; a rule on them fires"#),
        "alerts.rules[].keep_firing_for": (file: "StepflowRuntimeTests/AlertKeyEffectTests.swift", test: #"evaluation_interval, rule_files, rules[].enabled, rules[].keep_firing_for and log_notifications"#),
        "alerts.rules[].enabled": (file: "StepflowRuntimeTests/AlertKeyEffectTests.swift", test: #"evaluation_interval, rule_files, rules[].enabled, rules[].keep_firing_for and log_notifications"#),
        "health.check_interval": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source"#),
        "health.check_timeout": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"health: check_timeout bounds a check; check_retries failures in a row make a component unhealthy"#),
        "health.check_retries": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"health: check_timeout bounds a check; check_retries failures in a row make a component unhealthy"#),
        "exporters.external_labels": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.prometheus.enabled": (file: "StepflowRuntimeTests/RemoteWriteReceiverHostTests.swift", test: #"our remote-write exporter on one host writes to the receiver of another; the samples are read back there"#),
        "exporters.prometheus.endpoint": (file: "StepflowRuntimeTests/RemoteWriteReceiverHostTests.swift", test: #"our remote-write exporter on one host writes to the receiver of another; the samples are read back there"#),
        "exporters.prometheus.tls.ca_file": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "exporters.prometheus.tls.insecure_skip_verify": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "exporters.elasticsearch.enabled": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.url": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.log_index": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.metrics_index": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.traces_index": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.username": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.password": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.api_key": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"elasticsearch: api_key is sent as ApiKey; max_backlog_age drops old entries; timeout fails a slow bulk request"#),
        "exporters.elasticsearch.gzip": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.max_batch_documents": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"logs posted to the host arrive in the log index; the exporter shows in /metrics and /health"#),
        "exporters.elasticsearch.max_batch_bytes": (file: "StepflowRuntimeTests/ElasticsearchExporterTests.swift", test: #"max_batch_bytes from the YAML bounds every _bulk request body, also when more documents would fit"#),
        "exporters.elasticsearch.max_backlog_age": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"elasticsearch: api_key is sent as ApiKey; max_backlog_age drops old entries; timeout fails a slow bulk request"#),
        "exporters.elasticsearch.timeout": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"elasticsearch: api_key is sent as ApiKey; max_backlog_age drops old entries; timeout fails a slow bulk request"#),
        "exporters.elasticsearch.tls.ca_file": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "exporters.elasticsearch.tls.insecure_skip_verify": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "exporters.otlp.enabled": (file: "StepflowRuntimeTests/OTLPExporterTests.swift", test: #"spans, log records and samples reach an OTLP receiver with every field, the resource, headers, gzip and retries"#),
        "exporters.otlp.endpoint": (file: "StepflowRuntimeTests/OTLPExporterTests.swift", test: #"spans, log records and samples reach an OTLP receiver with every field, the resource, headers, gzip and retries"#),
        "exporters.otlp.headers": (file: "StepflowRuntimeTests/OTLPExporterTests.swift", test: #"spans, log records and samples reach an OTLP receiver with every field, the resource, headers, gzip and retries"#),
        "exporters.otlp.gzip": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"otlp: traces, logs and metrics switch each signal; gzip false sends plain protobuf; timeout and max_backlog_age"#),
        "exporters.otlp.timeout": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"otlp: traces, logs and metrics switch each signal; gzip false sends plain protobuf; timeout and max_backlog_age"#),
        "exporters.otlp.traces": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"otlp: traces, logs and metrics switch each signal; gzip false sends plain protobuf; timeout and max_backlog_age"#),
        "exporters.otlp.logs": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"otlp: traces, logs and metrics switch each signal; gzip false sends plain protobuf; timeout and max_backlog_age"#),
        "exporters.otlp.metrics": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"otlp: traces, logs and metrics switch each signal; gzip false sends plain protobuf; timeout and max_backlog_age"#),
        "exporters.otlp.service_name": (file: "StepflowRuntimeTests/OTLPExporterTests.swift", test: #"spans, log records and samples reach an OTLP receiver with every field, the resource, headers, gzip and retries"#),
        "exporters.otlp.resource_attributes": (file: "StepflowRuntimeTests/OTLPExporterTests.swift", test: #"spans, log records and samples reach an OTLP receiver with every field, the resource, headers, gzip and retries"#),
        "exporters.otlp.max_batch_items": (file: "StepflowRuntimeTests/OTLPExporterTests.swift", test: #"spans, log records and samples reach an OTLP receiver with every field, the resource, headers, gzip and retries"#),
        "exporters.otlp.max_backlog_age": (file: "StepflowRuntimeTests/ExporterKeyEffectTests.swift", test: #"otlp: traces, logs and metrics switch each signal; gzip false sends plain protobuf; timeout and max_backlog_age"#),
        "exporters.otlp.tls.ca_file": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "exporters.otlp.tls.insecure_skip_verify": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses"#),
        "http.enabled": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"acknowledge: queued answers before the commit; http.enabled false serves nothing; http.address picks the interface"#),
        "http.address": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"acknowledge: queued answers before the commit; http.enabled false serves nothing; http.address picks the interface"#),
        "http.port": (file: "StepflowRuntimeTests/CommandLineTests.swift", test: #"run on a port already in use says so, names the setting to change, and exits non-zero"#),
        "http.max_body_size": (file: "StepflowRuntimeTests/MetricsAPITests.swift", test: #"malformed JSON, a wrong shape, a big body and a cardinality limit get clear answers; nothing is lost"#),
        "http.max_control_body_size": (file: "StepflowRuntimeTests/AbuseLimitTests.swift", test: #"a rule or silence body is limited to http.max_control_body_size; ingest to http.max_body_size"#),
        "http.max_concurrent_requests": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"past max_concurrent_requests a request is answered 503 while another waits for its commit; /metrics is not counted"#),
        "http.auth_token": (file: "StepflowRuntimeTests/HTTPAuthTests.swift", test: #"with a token, over a real socket: /api/ needs it, the CLI sends it, check-config hides it"#),
        "http.acknowledge": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"acknowledge: queued answers before the commit; http.enabled false serves nothing; http.address picks the interface"#),
        "http.commit_timeout": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"commit_timeout answers 202 while storage is locked; busy_timeout decides how soon a write fails"#),
        "http.idle_timeout": (file: "StepflowRuntimeTests/HostileInputTests.swift", test: #"a half-sent request is closed after http.idle_timeout"#),
        "http.max_connections": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"http: max_json_depth refuses deeper bodies with 400; max_connections holds a connection past the limit"#),
        "http.query_timeout": (file: "StepflowRuntimeTests/HostileInputTests.swift", test: #"a series query past http.query_timeout is refused with 400 saying so"#),
        "http.max_json_depth": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"http: max_json_depth refuses deeper bodies with 400; max_connections holds a connection past the limit"#),
        "http.allowed_origins": (file: "StepflowRuntimeTests/HostileInputTests.swift", test: #"allowed_origins and allowed_hosts admit the listed names"#),
        "http.allowed_hosts": (file: "StepflowRuntimeTests/HostileInputTests.swift", test: #"allowed_origins and allowed_hosts admit the listed names"#),
        "http.tls.certificate": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"HTTPS with the configured certificate: the right CA is accepted, a wrong one and an expired certificate are refused; SIGHUP re-reads the files without closing the listener"#),
        "http.tls.private_key": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"HTTPS with the configured certificate: the right CA is accepted, a wrong one and an expired certificate are refused; SIGHUP re-reads the files without closing the listener"#),
        "http.tls.client_ca": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"mutual TLS: no client certificate, or one from another CA, fails the handshake; a mapped common name is its principal and role"#),
        "security.public_endpoints": (file: "StepflowRuntimeTests/RouteAccessTests.swift", test: #"every route of the router is declared, and each answers 401 / 403 / served by role"#),
        "security.client_certificate_roles": (file: "StepflowRuntimeTests/TLSTests.swift", test: #"mutual TLS: no client certificate, or one from another CA, fails the handshake; a mapped common name is its principal and role"#),
        "security.verify_plugin_files": (file: "StepflowRuntimeTests/PluginVerificationTests.swift", test: #"a world-writable directory with the sticky bit (as /tmp) is accepted; the check can be turned off"#),
        "security.plugin_owners": (file: "StepflowRuntimeTests/PluginVerificationTests.swift", test: #"a library owned by a user neither root nor in plugin_owners is refused"#),
        "security.rate_limit": (file: "StepflowRuntimeTests/AbuseLimitTests.swift", test: #"write requests past the burst get 429 with Retry-After, counted by route and principal; reads are not limited"#),
        "security.rate_limit_burst": (file: "StepflowRuntimeTests/AbuseLimitTests.swift", test: #"write requests past the burst get 429 with Retry-After, counted by route and principal; reads are not limited"#),
        "security.auth_failure_limit": (file: "StepflowRuntimeTests/AbuseLimitTests.swift", test: #"repeated failed authentications lock the address out (429), even for a good token, and are counted by reason"#),
        "security.auth_lockout": (file: "StepflowRuntimeTests/AbuseLimitTests.swift", test: #"repeated failed authentications lock the address out (429), even for a good token, and are counted by reason"#),
        "security.file_mode": (file: "StepflowRuntimeTests/FileModeTests.swift", test: #"the database, its WAL and shared memory, its lock and the exported log file are 0600, or file_mode"#),
        "security.redact_keys": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"security: redact_keys replaces the secret field names; redact_values masks matching words anywhere"#),
        "security.redact_values": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"security: redact_keys replaces the secret field names; redact_values masks matching words anywhere"#),
        "security.tokens[].name": (file: "StepflowRuntimeTests/AuditTrailTests.swift", test: #"who, from where, what and with which result: silences, a refused rule change, refused and accepted ingest"#),
        "security.tokens[].role": (file: "StepflowRuntimeTests/RouteAccessTests.swift", test: #"every route of the router is declared, and each answers 401 / 403 / served by role"#),
        "security.tokens[].token_sha256": (file: "StepflowRuntimeTests/AuditTrailTests.swift", test: #"who, from where, what and with which result: silences, a refused rule change, refused and accepted ingest"#),
        "security.tokens[].token_file": (file: "StepflowRuntimeTests/HTTPAuthTests.swift", test: #"security.tokens over a real socket: the CLI sends a token from --token-file or STEPFLOW_CLI_TOKEN; roles hold"#),
        "security.tokens[].token_env": (file: "StepflowRuntimeTests/RouteAccessTests.swift", test: #"every route of the router is declared, and each answers 401 / 403 / served by role"#),
        "profiler.scan_interval": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"a configured group is scanned on its interval, shown on /metrics (with proportional memory) and in the metrics API"#),
        "profiler.proportional_memory": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"a configured group is scanned on its interval, shown on /metrics (with proportional memory) and in the metrics API"#),
        "profiler.span_metrics": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"profiler: span_metrics off records no span series; span_buckets and max_operations shape them when on"#),
        "profiler.span_buckets": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"profiler: span_metrics off records no span series; span_buckets and max_operations shape them when on"#),
        "profiler.max_operations": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"profiler: span_metrics off records no span series; span_buckets and max_operations shape them when on"#),
        "profiler.processes[].name": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"a configured group is scanned on its interval, shown on /metrics (with proportional memory) and in the metrics API"#),
        "profiler.processes[].match.comm": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"a configured group is scanned on its interval, shown on /metrics (with proportional memory) and in the metrics API"#),
        "profiler.processes[].match.exe": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"match by exe, user and cgroup, each also refusing a process that does not fit; track_children counts a member's children"#),
        "profiler.processes[].match.cmdline": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"a configured group is scanned on its interval, shown on /metrics (with proportional memory) and in the metrics API"#),
        "profiler.processes[].match.user": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"match by exe, user and cgroup, each also refusing a process that does not fit; track_children counts a member's children"#),
        "profiler.processes[].match.cgroup": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"match by exe, user and cgroup, each also refusing a process that does not fit; track_children counts a member's children"#),
        "profiler.processes[].track_children": (file: "StepflowRuntimeTests/ProcessGroupHostTests.swift", test: #"match by exe, user and cgroup, each also refusing a process that does not fit; track_children counts a member's children"#),
        "limits.max_name_length": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"limits and max_label_value_length from the YAML refuse what is past them, naming the key"#),
        "limits.max_text_length": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"limits and max_label_value_length from the YAML refuse what is past them, naming the key"#),
        "limits.max_fields_size": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"limits and max_label_value_length from the YAML refuse what is past them, naming the key"#),
        "limits.max_rules": (file: "StepflowRuntimeTests/HostileInputTests.swift", test: #"the collections stored are bounded: series in the host, rules, silences"#),
        "limits.max_silences": (file: "StepflowRuntimeTests/HostileInputTests.swift", test: #"the collections stored are bounded: series in the host, rules, silences"#),
        "storage.path": (file: "StepflowRuntimeTests/RuntimeEndToEndTests.swift", test: #"a database file that is not SQLite stops the host with a clear error and is left untouched"#),
        "storage.busy_timeout": (file: "StepflowRuntimeTests/StorageKeyEffectTests.swift", test: #"commit_timeout answers 202 while storage is locked; busy_timeout decides how soon a write fails"#),
        "storage.synchronous": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"storage: synchronous full makes every commit fsync (PRAGMA synchronous = 2); integrity_check_interval schedules the check"#),
        "storage.integrity_check_interval": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"storage: synchronous full makes every commit fsync (PRAGMA synchronous = 2); integrity_check_interval schedules the check"#),
        "scheduler.default_timeout": (file: "StepflowRuntimeTests/ConfigurationReloadTests.swift", test: #"a changed scheduler.default_timeout restarts exactly the plugins that rely on it, and needs no restart"#),
        "scheduler.max_backoff": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"scheduler: max_backoff caps the delay after failures; breaker_failures opens the breaker for breaker_cooldown"#),
        "scheduler.jitter": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source"#),
        "scheduler.breaker_failures": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"scheduler: max_backoff caps the delay after failures; breaker_failures opens the breaker for breaker_cooldown"#),
        "scheduler.breaker_cooldown": (file: "StepflowRuntimeTests/ConfigurationKeyEffectTests.swift", test: #"scheduler: max_backoff caps the delay after failures; breaker_failures opens the breaker for breaker_cooldown"#),
        "plugins[].name": (file: "StepflowRuntimeTests/SeriesOwnershipTests.swift", test: #"a series belongs to the plugin that created it; labels: lets two instances run side by side"#),
        "plugins[].path": (file: "StepflowRuntimeTests/RuntimeEndToEndTests.swift", test: #"loads both example plugins, serves their metrics and health over HTTP, and keeps them after shutdown"#),
        "plugins[].enabled": (file: "StepflowRuntimeTests/PluginKeyEffectTests.swift", test: #"enabled, budgets.metrics_per_collection, and limits.memory, limits.cpu_time and limits.recycle_after_failures of a runner"#),
        "plugins[].isolation": (file: "StepflowRuntimeTests/ProcessIsolationTests.swift", test: #"a plugin that crashes on every call is reported unhealthy while the host and the other plugins go on"#),
        "plugins[].interval": (file: "StepflowRuntimeTests/StuckPluginTests.swift", test: #"is reported unhealthy after its deadline while the other plugins keep their schedule, and does not hold up shutdown"#),
        "plugins[].timeout": (file: "StepflowRuntimeTests/StuckPluginTests.swift", test: #"is reported unhealthy after its deadline while the other plugins keep their schedule, and does not hold up shutdown"#),
        "plugins[].stale_after": (file: "StepflowRuntimeTests/SeriesOwnershipTests.swift", test: #"a series its plugin stops reporting leaves after stale_after; stored history stays"#),
        "plugins[].labels": (file: "StepflowRuntimeTests/SeriesOwnershipTests.swift", test: #"a series belongs to the plugin that created it; labels: lets two instances run side by side"#),
        "plugins[].budgets": (file: "StepflowRuntimeTests/PluginBudgetTests.swift", test: #"samples of series past a plugin's series budget are cut and counted; the budgeted series are kept"#),
        "plugins[].budgets.metrics_per_collection": (file: "StepflowRuntimeTests/PluginKeyEffectTests.swift", test: #"enabled, budgets.metrics_per_collection, and limits.memory, limits.cpu_time and limits.recycle_after_failures of a runner"#),
        "plugins[].budgets.series": (file: "StepflowRuntimeTests/PluginBudgetTests.swift", test: #"samples of series past a plugin's series budget are cut and counted; the budgeted series are kept"#),
        "plugins[].budgets.log_bytes_per_batch": (file: "StepflowRuntimeTests/LogTraceAPITests.swift", test: #"a log-exporter plugin receives new entries in order; its byte budget splits the batches"#),
        "plugins[].limits": (file: "StepflowRuntimeTests/PluginKeyEffectTests.swift", test: #"enabled, budgets.metrics_per_collection, and limits.memory, limits.cpu_time and limits.recycle_after_failures of a runner"#),
        "plugins[].limits.memory": (file: "StepflowRuntimeTests/PluginKeyEffectTests.swift", test: #"enabled, budgets.metrics_per_collection, and limits.memory, limits.cpu_time and limits.recycle_after_failures of a runner"#),
        "plugins[].limits.cpu_time": (file: "StepflowRuntimeTests/PluginKeyEffectTests.swift", test: #"enabled, budgets.metrics_per_collection, and limits.memory, limits.cpu_time and limits.recycle_after_failures of a runner"#),
        "plugins[].limits.recycle_after_failures": (file: "StepflowRuntimeTests/PluginKeyEffectTests.swift", test: #"enabled, budgets.metrics_per_collection, and limits.memory, limits.cpu_time and limits.recycle_after_failures of a runner"#),
        "plugins[].settings": (file: "StepflowRuntimeTests/SeriesOwnershipTests.swift", test: #"a plugin removed by a reload takes its series off /metrics at once"#),
        "plugins[].sha256": (file: "StepflowRuntimeTests/PluginVerificationTests.swift", test: #"a sha256 pin: the right digest loads; another is refused naming the expected and actual digests"#),
    ]

    /// Every key a configuration file can hold: the scalar table, then the keys of the list items.
    static var everyKey: [String] {
        var keys = ConfigurationSchema.settings.map(\.keyPath)
        keys += ConfigurationSchema.pluginKeys.map { "plugins[].\($0)" }
        keys += ConfigurationSchema.pluginBudgetKeys.map { "plugins[].budgets.\($0)" }
        keys += ConfigurationSchema.pluginLimitKeys.map { "plugins[].limits.\($0)" }
        keys.append("alerts.\(ConfigurationSchema.ruleFilesKey)")
        keys += ConfigurationSchema.ruleKeys.map { "alerts.rules[].\($0)" }
        keys += ConfigurationSchema.tokenKeys.map { "security.tokens[].\($0)" }
        keys += ConfigurationSchema.processGroupKeys.filter { $0 != "match" }.map { "profiler.processes[].\($0)" }
        keys += ConfigurationSchema.processMatchKeys.map { "profiler.processes[].match.\($0)" }
        return keys
    }

    @Test("every key has an entry, and every entry is a key")
    func tableCoversEveryKey() {
        let keys = Set(Self.everyKey)
        let missing = keys.subtracting(Self.effects.keys).sorted()
        #expect(missing.isEmpty, "keys without a test that shows their effect: \(missing)")
        let unknown = Set(Self.effects.keys).subtracting(keys).sorted()
        #expect(unknown.isEmpty, "entries for keys that do not exist: \(unknown)")
    }

    @Test("every key documented in docs/configuration.md is walked")
    func documentedKeysAreWalked() throws {
        let reference = try repositoryFile("docs/configuration.md")
        let keys = Set(Self.everyKey)
        let documented = reference.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `"), let end = line.dropFirst(3).firstIndex(of: "`") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 3)..<end])
        }
        // Rows of the other tables (types, limits) name no key path: only dotted names are keys.
        let unwalked = documented.filter { $0.contains(".") && !keys.contains($0) }
        #expect(unwalked.isEmpty, "documented keys the walk misses: \(unwalked)")
    }

    /// Whether `source` has `@Test(` followed (after white space) by the string literal `"name"`.
    static func declaresTest(_ name: String, in source: String) -> Bool {
        var searchStart = source.startIndex
        while let found = source.range(of: "\"\(name)\"", range: searchStart..<source.endIndex) {
            let before = source[..<found.lowerBound].reversed().drop { $0 == " " || $0 == "\n" }
            if String(before.prefix(6).reversed()) == "@Test(" { return true }
            searchStart = found.upperBound
        }
        return false
    }

    @Test("each entry names a test in its file, and that file sets the key")
    func entriesNameRealTests() throws {
        var sources: [String: String] = [:]
        for (key, effect) in Self.effects.sorted(by: { $0.key < $1.key }) {
            let source = try sources[effect.file] ?? repositoryFile("Tests/" + effect.file)
            sources[effect.file] = source
            #expect(Self.declaresTest(effect.test, in: source), "\(key): no test named \"\(effect.test)\" in Tests/\(effect.file)")
            let leaf = key.split(separator: ".").last.map { $0.replacingOccurrences(of: "[]", with: "") } ?? key
            let variable = ConfigurationSchema.settings.first { $0.keyPath == key }?.environmentVariable
            #expect(
                source.contains("\(leaf):") || source.contains("\(leaf) ") || variable.map(source.contains) == true,
                "\(key): Tests/\(effect.file) never sets \(leaf)")
        }
    }
}
