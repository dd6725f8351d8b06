import Logging
import StepflowCore
import StepflowMonitoring
import StepflowPluginHost
import StepflowScheduling
import Synchronization

/// Schedules one metrics-collector plugin instance: each run calls its `collect_metrics` and records what it
/// emitted. Samples past the plugin's series budget, or that the engine refuses (bad names, type clashes),
/// are counted and logged once per collection; the rest are kept.
final class PluginCollectorJob: ScheduledJob {
    private struct SeriesBudgetState {
        /// Fingerprints of the series the plugin has created (a 64-bit collision would count two as one).
        var known = Set<UInt64>()
        var refused: UInt64 = 0
        /// `refusedSamples[.overBudget]` of the instance after the previous collection.
        var instanceOverBudget = 0
    }

    let name: String
    let kind = "plugin"
    let instance: any PluginCollector
    let engine: MetricsEngine
    let logger: Logger
    /// How long shutdown waits for a call still in flight before leaving the instance undestroyed.
    let shutdownGrace: Duration
    /// The most distinct series this plugin may create.
    let seriesBudget: Int
    private let series = Mutex(SeriesBudgetState())

    init(
        name: String, instance: any PluginCollector, engine: MetricsEngine, logger: Logger, shutdownGrace: Duration,
        seriesBudget: Int = PluginBudgets().series
    ) {
        self.name = name
        self.instance = instance
        self.engine = engine
        self.logger = logger
        self.shutdownGrace = shutdownGrace
        self.seriesBudget = max(seriesBudget, 1)
    }

    var isBusy: Bool { instance.isBusy }

    /// Distinct series the plugin has created, and samples refused for going past its series budget.
    var seriesCounts: (known: Int, refused: UInt64) { series.withLock { ($0.known.count, $0.refused) } }

    func run() async throws {
        let batch: MetricBatch
        do {
            batch = try await instance.collectMetrics()
        } catch {
            if error.code == .timedOut, instance.isolation == .inProcess {
                logger.notice(
                    "an in-process plugin cannot be interrupted; with 'isolation: process' the host would kill it at its deadline",
                    metadata: ["plugin": "\(instance.name)"])
            }
            throw error
        }
        let overBudgetNow = instance.refusedSamples[.overBudget] ?? 0
        let (kept, cut, instanceCut) = series.withLock { state -> ([Int]?, Int, Int) in
            var kept: [Int]?
            for position in batch.indices {
                let fingerprint = batch.fingerprint(at: position)
                if state.known.count < seriesBudget || state.known.contains(fingerprint) {
                    state.known.insert(fingerprint)
                    kept?.append(position)
                } else if kept == nil {
                    kept = Array(0..<position)  // the first sample past the budget: keep what came before it
                }
            }
            let cut = batch.count - (kept?.count ?? batch.count)
            state.refused += UInt64(cut)
            let instanceCut = overBudgetNow - state.instanceOverBudget
            state.instanceOverBudget = overBudgetNow
            return (kept, cut, instanceCut)
        }
        if instanceCut > 0 {
            logger.warning(
                "plugin emitted more samples than its budget allows in one collection; the rest were dropped",
                metadata: [
                    "plugin": "\(instance.name)", "dropped": "\(instanceCut)",
                    "budget": "budgets.metrics_per_collection",
                ])
        }
        if cut > 0 {
            logger.warning(
                "plugin reached its series budget; samples of new series were dropped",
                metadata: [
                    "plugin": "\(instance.name)", "dropped": "\(cut)", "series_budget": "\(seriesBudget)",
                    "budget": "budgets.series",
                ])
        }
        let report = engine.record(kept.map { batch.keeping($0) } ?? batch)
        if let first = report.refused.first {
            logger.warning(
                "plugin samples refused",
                metadata: ["plugin": "\(instance.name)", "refused": "\(report.refused.count)", "first": "\(first.name): \(first.reason)"])
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
                metadata: ["plugin": "\(instance.name)", "waited": "\(grace)"])
        }
    }
}
