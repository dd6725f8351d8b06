import Logging
import StepflowCore
import Synchronization
import StepflowMonitoring
import StepflowPluginHost
import StepflowScheduling

/// Schedules one metrics-collector plugin instance: each run calls its `collect_metrics` and records what it
/// emitted; samples the engine refuses (bad names, type clashes) are counted and logged, the rest kept.
final class PluginCollectorJob: ScheduledJob {
    let name: String
    let kind = "plugin"
    let instance: any PluginCollector
    let engine: MetricsEngine
    let logger: Logger
    /// How long shutdown waits for a call still in flight before leaving the instance undestroyed.
    let shutdownGrace: Duration

    init(name: String, instance: any PluginCollector, engine: MetricsEngine, logger: Logger, shutdownGrace: Duration) {
        self.name = name
        self.instance = instance
        self.engine = engine
        self.logger = logger
        self.shutdownGrace = shutdownGrace
    }

    var isBusy: Bool { instance.isBusy }

    func run() async throws {
        let metrics: [Metric]
        do {
            metrics = try await instance.collectMetrics()
        } catch {
            if error.code == .timedOut, instance.isolation == .inProcess {
                logger.notice(
                    "an in-process plugin cannot be interrupted; with 'isolation: process' the host would kill it at its deadline",
                    metadata: ["plugin": "\(name)"])
            }
            throw error
        }
        let report = engine.record(metrics)
        if let first = report.refused.first {
            logger.warning(
                "plugin samples refused",
                metadata: ["plugin": "\(name)", "refused": "\(report.refused.count)", "first": "\(first.name): \(first.reason)"])
        }
    }

    /// Destroys the instance once any call in flight returns, waiting at most `shutdownGrace`: a plugin stuck
    /// in C cannot be interrupted, and it must not keep the host from exiting.
    func shutdown() async {
        let instance = self.instance
        let grace = shutdownGrace
        let destroyed = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let once = Mutex<CheckedContinuation<Bool, Never>?>(continuation)
            let resume: @Sendable (Bool) -> Void = { value in once.withLock { $0.take() }?.resume(returning: value) }
            // Unstructured on purpose: a task group would wait for the stuck call it is meant to give up on.
            Task {
                await instance.shutdown()
                resume(true)
            }
            Task {
                try? await Task.sleep(for: grace)
                resume(false)
            }
        }
        if !destroyed {
            logger.error(
                "plugin is still inside a call at shutdown; it was not destroyed",
                metadata: ["plugin": "\(name)", "waited": "\(grace)"])
        }
    }
}
