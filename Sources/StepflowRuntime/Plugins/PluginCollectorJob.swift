import Logging
import StepflowCore
import StepflowMetrics
import StepflowPluginHost
import StepflowScheduling
import Synchronization

/// Schedules one metrics-collector plugin instance: each run calls its `collect_metrics`, adds the entry's
/// `labels:` and records what it emitted on behalf of the plugin, which owns the series it creates (its series
/// budget and stale time are the engine's source policy, see docs/plugins.md, "Series ownership and expiry").
///
/// Every refusal counts against the plugin. The first of each reason is logged at once (by the plugin host for
/// what it refuses, by the engine for the rest); after that, at most one line a minute gives the count.
final class PluginCollectorJob: ScheduledJob {
    private struct RefusalSummary {
        /// The host's refusal counts of the instance when they were last logged.
        var logged: [MetricRefusalReason: Int] = [:]
        /// When the last summary line was logged (or the job was made).
        var at = ContinuousClock.now
    }

    let name: String
    let kind = "plugin"
    let instance: any PluginCollector
    let engine: MetricsEngine
    let logger: Logger
    /// How long shutdown waits for a call still in flight before leaving the instance undestroyed.
    let shutdownGrace: Duration
    /// The source the plugin's samples are recorded as.
    let source: MetricSource
    /// The entry's `labels:`, added to every sample.
    let labels: [Label]
    /// Where each collection is counted (`metric_collection`).
    let operations: OperationLedger?
    private let summary = Mutex(RefusalSummary())

    init(
        name: String, instance: any PluginCollector, engine: MetricsEngine, logger: Logger, shutdownGrace: Duration,
        labels: [Label] = [], operations: OperationLedger? = nil
    ) {
        self.operations = operations
        self.name = name
        self.instance = instance
        self.engine = engine
        self.logger = logger
        self.shutdownGrace = shutdownGrace
        self.source = .plugin(instance.name)
        self.labels = labels
    }

    var isBusy: Bool { instance.isBusy }

    /// Series the plugin owns now, and samples of new series refused past its series budget.
    var seriesCounts: (known: Int, refused: UInt64) {
        let statistics = engine.statistics(of: source)
        return (statistics.series, statistics.refused[.sourceSeriesLimit] ?? 0)
    }

    /// Every sample of the plugin refused so far, by reason: what the plugin host refused and what the engine
    /// refused (limits, ownership, type clashes).
    var refusedSamples: [String: UInt64] {
        var all: [String: UInt64] = [:]
        for (reason, count) in instance.refusedSamples { all[reason.rawValue, default: 0] += UInt64(max(count, 0)) }
        for (reason, count) in engine.statistics(of: source).refused { all[reason.rawValue, default: 0] += count }
        return all
    }

    func run() async throws {
        let batch: MetricBatch
        let started = ContinuousClock.now
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
        engine.record(batch.addingLabels(labels), from: source)
        try? operations?.record(.metricCollection, count: batch.count, duration: started.duration(to: .now))
        logRefusalSummary()
    }

    /// Logs, at most once a minute, how many samples the plugin host refused since the last line; the first of
    /// each reason was logged when it happened.
    private func logRefusalSummary() {
        let now = ContinuousClock.now
        let counts = instance.refusedSamples
        let since = summary.withLock { summary -> [(MetricRefusalReason, Int)] in
            guard now - summary.at >= .seconds(60) else { return [] }
            let since = counts.map { ($0.key, $0.value - (summary.logged[$0.key] ?? 0)) }.filter { $0.1 > 0 }
            summary.logged = counts
            summary.at = now
            return since
        }
        guard !since.isEmpty else { return }
        let text = since.sorted { $0.0.rawValue < $1.0.rawValue }.map { "\($0.0.rawValue)=\($0.1)" }
        logger.warning(
            "plugin samples refused since the last count",
            metadata: ["plugin": "\(instance.name)", "refused": "\(text.joined(separator: ","))"])
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
