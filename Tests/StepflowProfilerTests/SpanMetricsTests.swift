import Foundation
import StepflowCore
import StepflowProfiler
import Testing

@Suite("Span metrics: calls, errors and durations per operation")
struct SpanMetricsTests {
    private func value(_ series: [MetricInfo], _ name: String, _ labels: [Label]) -> MetricValue? {
        series.first { $0.name == name && $0.labels == labels }?.value
    }

    @Test("each span is counted by operation and status, its duration in the first bucket that holds it")
    func countsAndBuckets() throws {
        let spans = SpanMetrics(bounds: [0.1, 1, 0.5, .infinity], maxOperations: 10)
        #expect(spans.bounds == [0.1, 0.5, 1])
        spans.spanEnded(operation: "GET /orders", status: .ok, seconds: 0.05)
        spans.spanEnded(operation: "GET /orders", status: .ok, seconds: 0.1)
        spans.spanEnded(operation: "GET /orders", status: .ok, seconds: 0.7)
        spans.spanEnded(operation: "GET /orders", status: .error, seconds: 3)
        spans.spanEnded(operation: "GET /orders", status: .error, seconds: -1)
        spans.spanEnded(operation: "GET /orders", status: .error, seconds: .nan)
        let series = spans.series(at: Date())
        let ok = [Label("operation", "GET /orders"), Label("status", "ok")]
        let error = [Label("operation", "GET /orders"), Label("status", "error")]
        #expect(value(series, "stepflow_span_calls_total", ok) == .counter(3))
        #expect(value(series, "stepflow_span_calls_total", error) == .counter(3))
        guard case .histogram(let okDurations)? = value(series, "stepflow_span_duration_seconds", ok) else {
            Issue.record("no histogram")
            return
        }
        #expect(okDurations.count == 3)
        #expect(abs(okDurations.sum - 0.85) < 1e-9)
        #expect(okDurations.buckets.map(\.count) == [2, 2, 3])
        guard case .histogram(let errorDurations)? = value(series, "stepflow_span_duration_seconds", error) else {
            Issue.record("no histogram")
            return
        }
        // A negative or NaN duration counts as zero; 3 s is past every bound (only in +Inf, that is count).
        #expect(errorDurations.buckets.map(\.count) == [2, 2, 2])
        #expect(errorDurations.count == 3 && errorDurations.sum == 3)
        #expect(value(series, "stepflow_span_operations_overflow_total", []) == .counter(0))
    }

    @Test("past max_operations, and for names over 256 bytes, spans count as operation=\"other\"")
    func cardinalityCap() {
        let spans = SpanMetrics(bounds: [1], maxOperations: 2)
        for index in 0..<5 { spans.spanEnded(operation: "op\(index)", status: .ok, seconds: 0.1) }
        spans.spanEnded(operation: "op0", status: .ok, seconds: 0.1)
        spans.spanEnded(operation: String(repeating: "x", count: 300), status: .error, seconds: 0.1)
        let series = spans.series(at: Date())
        let operations = Set(series.filter { $0.name == "stepflow_span_calls_total" }
            .compactMap { $0.labels.first { $0.name == "operation" }?.value })
        #expect(operations == ["op0", "op1", "other"])
        #expect(value(series, "stepflow_span_calls_total", [Label("operation", "op0"), Label("status", "ok")]) == .counter(2))
        #expect(value(series, "stepflow_span_calls_total", [Label("operation", "other"), Label("status", "ok")]) == .counter(3))
        #expect(value(series, "stepflow_span_calls_total", [Label("operation", "other"), Label("status", "error")]) == .counter(1))
        // Each operation's error series starts at zero with its first span.
        #expect(value(series, "stepflow_span_calls_total", [Label("operation", "op1"), Label("status", "error")]) == .counter(0))
        #expect(value(series, "stepflow_span_operations_overflow_total", []) == .counter(4))
        #expect(spans.counts.operations == 2 && spans.counts.overflow == 4)
    }
}
