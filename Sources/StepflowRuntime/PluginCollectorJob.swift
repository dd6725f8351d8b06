import Logging
import StepflowCore
import StepflowMonitoring
import StepflowPluginHost
import StepflowScheduling

/// Schedules one metrics-collector plugin instance: each run calls its `collect_metrics` and records what it
/// emitted; samples the engine refuses (bad names, type clashes) are counted and logged, the rest kept.
final class PluginCollectorJob: ScheduledJob {
    let name: String
    let kind = "plugin"
    let instance: PluginInstance
    let engine: MetricsEngine
    let logger: Logger

    init(name: String, instance: PluginInstance, engine: MetricsEngine, logger: Logger) {
        self.name = name
        self.instance = instance
        self.engine = engine
        self.logger = logger
    }

    var isBusy: Bool { instance.isBusy }

    func run() async throws {
        let metrics = try await instance.collectMetrics()
        let report = engine.record(metrics)
        if let first = report.refused.first {
            logger.warning(
                "plugin samples refused",
                metadata: ["plugin": "\(name)", "refused": "\(report.refused.count)", "first": "\(first.name): \(first.reason)"])
        }
    }

    func shutdown() async {
        await instance.shutdown()
    }
}
