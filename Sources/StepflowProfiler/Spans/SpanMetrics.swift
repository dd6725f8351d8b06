import Foundation
import StepflowCore
import Synchronization

/// Request, error and duration series per operation from every finished span, as OpenTelemetry's spanmetrics
/// connector makes them (docs/profiler.md, "Operations"): `stepflow_span_calls_total{operation,status}` and the
/// histogram `stepflow_span_duration_seconds{operation,status}`.
///
/// The operation is the span's name; its `ok` and `error` series both start at zero when it is first seen. At most `maxOperations` distinct ones are kept; spans of any further one, and
/// of a name longer than ``maxOperationBytes`` bytes, are counted as `operation="other"` and in
/// `stepflow_span_operations_overflow_total`. Counting a span costs one lock and a dictionary lookup.
public final class SpanMetrics: SpanObserver {
    /// The longest operation name kept as a label value.
    public static let maxOperationBytes = 256
    /// The operation that stands for every one past the cap.
    public static let overflowOperation = "other"

    private typealias Totals = BucketCounts

    /// One operation's totals, by status (``statuses`` order); `nil` for a status not seen yet.
    private struct Operation {
        var byStatus: [Totals?]

        mutating func add(status: Int, seconds: Double, bucket: Int, bucketCount: Int) {
            if byStatus[status] == nil { byStatus[status] = Totals(boundCount: bucketCount - 1) }
            byStatus[status]!.observe(seconds, bucket: bucket)
        }
    }

    /// The statuses a finished span can have, in the order of ``Operation/byStatus``.
    private static let statuses: [SpanStatus] = SpanStatus.allCases.filter { $0 != .started }

    private static func index(of status: SpanStatus) -> Int {
        statuses.firstIndex(of: status == .started ? .ok : status) ?? 0
    }

    private struct State {
        var operations: [String: Operation] = [:]
        var overflow: UInt64 = 0
    }

    /// The histogram's upper bounds, in seconds, ascending.
    public let bounds: [Double]
    /// The most distinct operations kept.
    public let maxOperations: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - bounds: the duration histogram's upper bounds in seconds (`profiler.span_buckets`); they are sorted and
    ///     non-finite ones dropped.
    ///   - maxOperations: the most distinct operations (`profiler.max_operations`), at least 1.
    public init(bounds: [Double], maxOperations: Int) {
        self.bounds = Array(Set(bounds.filter(\.isFinite))).sorted()
        self.maxOperations = max(1, maxOperations)
    }

    public func spanEnded(operation: String, status: SpanStatus, seconds: Double) {
        let bucket = self.bucket(of: seconds)
        state.withLock { add(operation, Self.index(of: status), seconds: seconds, bucket: bucket, to: &$0) }
    }

    /// A batch under one lock.
    public func spansEnded(_ spans: [Span]) {
        let measured = spans.map { span in
            let seconds = span.endedAfterSeconds
            return (span.name, Self.index(of: span.status), seconds, bucket(of: seconds))
        }
        state.withLock { state in
            for (operation, status, seconds, bucket) in measured {
                add(operation, status, seconds: seconds, bucket: bucket, to: &state)
            }
        }
    }

    /// The first bound at or above `seconds` (binary search); `bounds.count` for `+Inf`.
    private func bucket(of seconds: Double) -> Int { BucketCounts.bucket(of: seconds, in: bounds) }

    /// One span into `state`: one hash lookup for a known operation.
    private func add(_ operation: String, _ status: Int, seconds: Double, bucket: Int, to state: inout State) {
        let seconds = seconds.isFinite ? max(0, seconds) : 0
        if let index = state.operations.index(forKey: operation) {
            state.operations.values[index].add(status: status, seconds: seconds, bucket: bucket, bucketCount: bounds.count + 1)
            return
        }
        var key = operation
        let kept = state.operations.count - (state.operations[Self.overflowOperation] == nil ? 0 : 1)
        if operation.utf8.count > Self.maxOperationBytes || kept >= maxOperations {
            key = Self.overflowOperation
            state.overflow &+= 1
        }
        if state.operations[key] == nil {
            // An operation's ok and error series start at zero together, so that the first error is a rise that
            // rate() and increase() see (Prometheus' advice: initialise counters).
            let empty = Totals(boundCount: bounds.count)
            var byStatus = [Totals?](repeating: nil, count: Self.statuses.count)
            byStatus[Self.index(of: .ok)] = empty
            byStatus[Self.index(of: .error)] = empty
            state.operations[key] = Operation(byStatus: byStatus)
        }
        state.operations[key]!.add(status: status, seconds: seconds, bucket: bucket, bucketCount: bounds.count + 1)
    }

    /// Distinct operations kept so far, and spans counted as `other` because of the cap.
    public var counts: (operations: Int, overflow: UInt64) {
        state.withLock { ($0.operations.count - ($0.operations[Self.overflowOperation] == nil ? 0 : 1), $0.overflow) }
    }

    /// The series, as of `now`, in name and label order.
    public func series(at now: Date) -> [MetricInfo] {
        let (operations, overflow) = state.withLock { state in
            (state.operations.sorted { $0.key < $1.key }, state.overflow)
        }
        var totals: [(key: (operation: String, status: SpanStatus), value: Totals)] = []
        for (operation, entry) in operations {
            let present = zip(Self.statuses, entry.byStatus).compactMap { status, value in value.map { (status, $0) } }
            for (status, value) in present.sorted(by: { $0.0.rawValue < $1.0.rawValue }) {
                totals.append((key: (operation: operation, status: status), value: value))
            }
        }
        var calls: [MetricInfo] = []
        var durations: [MetricInfo] = []
        calls.reserveCapacity(totals.count)
        durations.reserveCapacity(totals.count)
        for (key, value) in totals {
            let labels = [Label("operation", key.operation), Label("status", key.status.rawValue)]
            calls.append(MetricInfo(
                name: "stepflow_span_calls_total", type: .counter, labels: labels,
                help: "Finished spans, by operation (span name) and status.", value: .counter(Double(value.count)),
                lastUpdated: now))
            durations.append(MetricInfo(
                name: "stepflow_span_duration_seconds", type: .histogram, labels: labels,
                help: "Duration of finished spans, by operation and status.",
                value: .histogram(value.histogram(bounds: bounds)),
                lastUpdated: now))
        }
        return calls + durations + [MetricInfo(
            name: "stepflow_span_operations_overflow_total", type: .counter, labels: [],
            help: "Spans counted as operation=\"other\": past profiler.max_operations, or a name over 256 bytes.",
            value: .counter(Double(overflow)), lastUpdated: now)]
    }
}
