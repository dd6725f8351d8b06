import Logging
import StepflowCore
import StepflowScheduling

/// Records the swift-metrics instruments' current values on `metrics.collection_interval`, and once more when the
/// host stops, so what an application counted just before shutdown is stored too.
public final class SwiftMetricsSnapshotJob: ScheduledJob {
    public let name = "swift-metrics"
    public let kind = "builtin"
    private let factory: StepflowMetricsFactory
    private let engine: MetricsEngine
    private let logger: Logger

    public init(factory: StepflowMetricsFactory, engine: MetricsEngine, logger: Logger) {
        self.factory = factory
        self.engine = engine
        self.logger = logger
    }

    public func run() async throws {
        record()
    }

    public func shutdown() async {
        record()
    }

    private func record() {
        let samples = factory.snapshot()
        guard !samples.isEmpty else { return }
        // Refusals are counted against the swift-metrics source and logged by the engine (first, then a count).
        engine.record(MetricBatch(samples), from: .swiftMetrics)
    }
}
