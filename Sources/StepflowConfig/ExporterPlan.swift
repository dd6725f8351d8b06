import StepflowCore

/// Which exporters a configuration turns on, and the settings that contradict each other: an exporter enabled
/// while the pipeline it sends from does not export, or a pipeline that exports with nothing to send to
/// (docs/exporters.md). `check-config` prints both; the host logs the warnings at start.
public enum ExporterPlan {
    /// One exporter job the configuration starts.
    public struct Active: Sendable, Hashable {
        /// `prometheus`, `elasticsearch`, `otlp`, `file`.
        public var exporter: String
        /// `metrics`, `logs`, `traces`.
        public var kind: String
        public var interval: Duration
        public var destination: String
    }

    /// The exporter jobs the configuration starts, in a fixed order (plugins with the log-exporter capability are
    /// not known until they are loaded, and are not listed).
    public static func active(_ configuration: MonitoringConfiguration) -> [Active] {
        let exporters = configuration.exporters
        let metrics = configuration.metrics, logs = configuration.logs, tracing = configuration.tracing
        var active: [Active] = []
        if exporters.prometheus.enabled, metrics.enableExport {
            active.append(Active(exporter: "prometheus", kind: "metrics", interval: metrics.exportInterval, destination: exporters.prometheus.endpoint))
        }
        if logs.enableExport, !logs.exportFile.isEmpty {
            active.append(Active(exporter: "file", kind: "logs", interval: logs.exportInterval, destination: logs.exportFile))
        }
        let elastic = exporters.elasticsearch
        if elastic.enabled {
            if logs.enableExport { active.append(Active(exporter: "elasticsearch", kind: "logs", interval: logs.exportInterval, destination: "\(elastic.url) \(elastic.logIndex)")) }
            if metrics.enableExport { active.append(Active(exporter: "elasticsearch", kind: "metrics", interval: metrics.exportInterval, destination: "\(elastic.url) \(elastic.metricsIndex)")) }
            if tracing.enableExport { active.append(Active(exporter: "elasticsearch", kind: "traces", interval: tracing.exportInterval, destination: "\(elastic.url) \(elastic.tracesIndex)")) }
        }
        let otlp = exporters.otlp
        if otlp.enabled {
            if otlp.traces, tracing.enableExport { active.append(Active(exporter: "otlp", kind: "traces", interval: tracing.exportInterval, destination: otlp.endpoint + "/v1/traces")) }
            if otlp.logs, logs.enableExport { active.append(Active(exporter: "otlp", kind: "logs", interval: logs.exportInterval, destination: otlp.endpoint + "/v1/logs")) }
            if otlp.metrics, metrics.enableExport { active.append(Active(exporter: "otlp", kind: "metrics", interval: metrics.exportInterval, destination: otlp.endpoint + "/v1/metrics")) }
        }
        return active
    }

    /// Settings that have no effect together, each naming both keys.
    public static func warnings(_ configuration: MonitoringConfiguration) -> [String] {
        let exporters = configuration.exporters
        let metrics = configuration.metrics.enableExport, logs = configuration.logs.enableExport
        let tracing = configuration.tracing.enableExport
        var warnings: [String] = []
        if exporters.prometheus.enabled, !metrics {
            warnings.append("exporters.prometheus.enabled is true but metrics.enable_export is false: nothing is remote-written")
        }
        if exporters.elasticsearch.enabled, !metrics, !logs, !tracing {
            warnings.append(
                "exporters.elasticsearch.enabled is true but logs.enable_export, metrics.enable_export and "
                    + "tracing.enable_export are all false: nothing is sent to Elasticsearch")
        }
        let otlp = exporters.otlp
        if otlp.enabled {
            for (signal, on, pipeline) in [("traces", otlp.traces, tracing), ("logs", otlp.logs, logs), ("metrics", otlp.metrics, metrics)]
            where on && !pipeline {
                let key = signal == "traces" ? "tracing" : signal
                warnings.append("exporters.otlp.\(signal) is true but \(key).enable_export is false: no \(signal) are sent with OTLP")
            }
            if !otlp.traces, !otlp.logs, !otlp.metrics {
                warnings.append("exporters.otlp.enabled is true but exporters.otlp.traces, logs and metrics are all false: nothing is sent")
            }
        }
        if metrics, !exporters.prometheus.enabled, !exporters.elasticsearch.enabled, !(otlp.enabled && otlp.metrics) {
            warnings.append(
                "metrics.enable_export is true but no metrics exporter is enabled (exporters.prometheus.enabled, "
                    + "exporters.elasticsearch.enabled, exporters.otlp.enabled): samples are not exported")
        }
        if tracing, !exporters.elasticsearch.enabled, !(otlp.enabled && otlp.traces) {
            warnings.append(
                "tracing.enable_export is true but no trace exporter is enabled (exporters.elasticsearch.enabled, "
                    + "exporters.otlp.enabled): spans are not exported")
        }
        if logs, configuration.logs.exportFile.isEmpty, configuration.plugins.isEmpty, !exporters.elasticsearch.enabled,
            !(otlp.enabled && otlp.logs)
        {
            warnings.append(
                "logs.enable_export is true but no log exporter is configured (logs.export_file, a log-exporter plugin, "
                    + "exporters.elasticsearch.enabled, exporters.otlp.enabled): entries are not exported")
        }
        return warnings
    }
}
