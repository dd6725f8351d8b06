import Foundation
import Logging
import StepflowCore
import StepflowMetrics
import StepflowStorage
import Testing

@Suite("Cardinality limits")
struct CardinalityLimitTests {
    func engine() -> MetricsEngine {
        MetricsEngine(
            queue: MetricsWriteQueue(capacity: 10_000, batchSize: 100), logger: Logger(label: "test"),
            limits: CardinalityLimits(maxLabelsPerSeries: 2, maxLabelValueLength: 8, maxSeriesPerMetric: 3))
    }

    @Test("a sample past a limit is refused with the metric and the limit named, and counted by reason")
    func refusesPastLimits() async throws {
        let engine = engine()
        let report = engine.record([
            Metric(name: "wide", value: .gauge(1), labels: [Label("a", "1"), Label("b", "2"), Label("c", "3")]),
            Metric(name: "long", value: .gauge(1), labels: [Label("path", "/a/very/long/path")]),
            Metric(name: "ok", value: .gauge(1), labels: [Label("a", "1"), Label("b", "2")]),
        ])
        #expect(report.accepted == 1)
        #expect(report.refused[0].message.contains("metrics.max_labels_per_series (2)"))
        #expect(report.refused[1].message.contains("metrics.max_label_value_length (8)"))
        #expect(engine.refusals == [.tooManyLabels: 1, .labelValueTooLong: 1])
    }

    @Test("series past max_series_per_metric are refused; existing series keep updating")
    func seriesLimit() async throws {
        let engine = engine()
        for index in 0..<3 {
            try await engine.recordGauge("per_host", value: 1, labels: [Label("host", "h\(index)")])
        }
        let error = await #expect(throws: MonitoringError.self) {
            try await engine.recordGauge("per_host", value: 1, labels: [Label("host", "h3")])
        }
        #expect(error?.message.contains("metrics.max_series_per_metric") == true)
        #expect(error?.message.contains("per_host") == true)
        try await engine.recordGauge("per_host", value: 5, labels: [Label("host", "h0")])
        #expect(try await engine.getMetric("per_host", labels: [Label("host", "h0")]) == .gauge(5))
        // Other metric names have their own allowance.
        try await engine.recordGauge("other", value: 1, labels: [Label("host", "h3")])
        #expect(engine.refusals == [.seriesLimit: 1])
    }
}
