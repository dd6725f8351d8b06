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

    private struct Key: Hashable {
        var operation: String
        var status: SpanStatus
    }

    private struct Totals {
        var calls: UInt64 = 0
        var seconds: Double = 0
        /// Non-cumulative counts per bound, then one for `+Inf`.
        var buckets: [UInt64]

        mutating func add(_ duration: Double, bucket: Int) {
            calls &+= 1
            seconds += duration
            buckets[bucket] &+= 1
        }
    }

    private struct State {
        var totals: [Key: Totals] = [:]
        var operations: Set<String> = []
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
        let seconds = seconds.isFinite ? max(0, seconds) : 0
        // Binary search: the first bound at or above the duration.
        var low = 0
        var high = bounds.count
        while low < high {
            let middle = (low + high) / 2
            if bounds[middle] < seconds { low = middle + 1 } else { high = middle }
        }
        let bucket = low
        let bucketCount = bounds.count + 1
        let limit = maxOperations
        state.withLock { state in
            var key = Key(operation: operation, status: status)
            if !state.operations.contains(operation) {
                if operation.utf8.count <= Self.maxOperationBytes, state.operations.count < limit {
                    state.operations.insert(operation)
                } else {
                    key.operation = Self.overflowOperation
                    state.overflow &+= 1
                }
                // An operation's ok and error series start at zero together, so that the first error is a rise
                // that rate() and increase() see (Prometheus' advice: initialise counters).
                let empty = Totals(buckets: Array(repeating: 0, count: bucketCount))
                for initial in [SpanStatus.ok, .error] where state.totals[Key(operation: key.operation, status: initial)] == nil {
                    state.totals[Key(operation: key.operation, status: initial)] = empty
                }
            }
            state.totals[key, default: Totals(buckets: Array(repeating: 0, count: bucketCount))].add(seconds, bucket: bucket)
        }
    }

    /// Distinct operations kept so far, and spans counted as `other` because of the cap.
    public var counts: (operations: Int, overflow: UInt64) {
        state.withLock { ($0.operations.count, $0.overflow) }
    }

    /// The series, as of `now`, in name and label order.
    public func series(at now: Date) -> [MetricInfo] {
        let (totals, overflow) = state.withLock { state in
            (state.totals.sorted { ($0.key.operation, $0.key.status.rawValue) < ($1.key.operation, $1.key.status.rawValue) }, state.overflow)
        }
        var calls: [MetricInfo] = []
        var durations: [MetricInfo] = []
        calls.reserveCapacity(totals.count)
        durations.reserveCapacity(totals.count)
        for (key, value) in totals {
            let labels = [Label("operation", key.operation), Label("status", key.status.rawValue)]
            calls.append(MetricInfo(
                name: "stepflow_span_calls_total", type: .counter, labels: labels,
                help: "Finished spans, by operation (span name) and status.", value: .counter(Double(value.calls)),
                lastUpdated: now))
            var cumulative: UInt64 = 0
            var buckets: [HistogramBucket] = []
            buckets.reserveCapacity(bounds.count)
            for (index, bound) in bounds.enumerated() {
                cumulative &+= value.buckets[index]
                buckets.append(HistogramBucket(upperBound: bound, count: cumulative))
            }
            durations.append(MetricInfo(
                name: "stepflow_span_duration_seconds", type: .histogram, labels: labels,
                help: "Duration of finished spans, by operation and status.",
                value: .histogram(HistogramValue(sum: value.seconds, count: value.calls, buckets: buckets)),
                lastUpdated: now))
        }
        return calls + durations + [MetricInfo(
            name: "stepflow_span_operations_overflow_total", type: .counter, labels: [],
            help: "Spans counted as operation=\"other\": past profiler.max_operations, or a name over 256 bytes.",
            value: .counter(Double(overflow)), lastUpdated: now)]
    }
}
