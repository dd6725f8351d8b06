import CStepflowPlugin

/// The extension points a plugin implements: the `STEPFLOW_CAP_*` bits of its descriptor.
public struct PluginCapabilities: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// `STEPFLOW_CAP_METRICS_COLLECTOR`: the spec's `CustomMetricsCollector` (`collect_metrics`, `metric_names`).
    public static let metricsCollector = PluginCapabilities(rawValue: UInt64(STEPFLOW_CAP_METRICS_COLLECTOR))
    /// `STEPFLOW_CAP_LOG_EXPORTER`: the spec's `CustomLogExporter` (`export_logs`).
    public static let logExporter = PluginCapabilities(rawValue: UInt64(STEPFLOW_CAP_LOG_EXPORTER))
    /// `STEPFLOW_CAP_ALERT_NOTIFIER`: the spec's `CustomAlertNotifier` (`send_notification`, `send_acknowledgment`).
    public static let alertNotifier = PluginCapabilities(rawValue: UInt64(STEPFLOW_CAP_ALERT_NOTIFIER))

    /// Every bit this host knows.
    public static let known: PluginCapabilities = [.metricsCollector, .logExporter, .alertNotifier]

    /// Bits set by the plugin that this host does not know (a newer plugin); they are ignored.
    public var unknown: PluginCapabilities { subtracting(.known) }

    /// E.g. `metrics_collector, log_exporter`, or `none`; unknown bits are shown in hex.
    public var description: String {
        var names: [String] = []
        if contains(.metricsCollector) { names.append("metrics_collector") }
        if contains(.logExporter) { names.append("log_exporter") }
        if contains(.alertNotifier) { names.append("alert_notifier") }
        if !unknown.isEmpty { names.append("unknown(0x" + String(unknown.rawValue, radix: 16) + ")") }
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }
}
