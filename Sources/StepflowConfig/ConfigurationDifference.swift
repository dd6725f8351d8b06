import StepflowCore

extension ConfigurationLoader {
    /// The dotted keys of every scalar setting (such as `http.port` or `metrics.max_queue_size`) whose value
    /// differs between two configurations, in the order of `config.yaml`, then `security.tokens` and
    /// `profiler.processes` when those lists differ (both take effect at start). `plugins:` and the alert rules are
    /// not compared here.
    ///
    /// A configuration reload uses this to tell which changed settings it cannot apply to a running host.
    public static func changedSettings(from old: MonitoringConfiguration, to new: MonitoringConfiguration) -> [String] {
        ConfigurationSchema.settings
            .filter { $0.value(in: old) != $0.value(in: new) }
            .map(\.keyPath)
            + (old.security.tokens == new.security.tokens ? [] : ["security.tokens"])
            + (old.profiler.processes == new.profiler.processes ? [] : ["profiler.processes"])
    }
}
