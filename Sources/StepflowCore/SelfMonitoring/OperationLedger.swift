import Foundation
import Synchronization

/// What the host's pipelines do, by kind: the operations ``MonitoringMonitoring`` records.
public enum MonitoredOperation: String, Sendable, Hashable, CaseIterable {
    case metricCollection = "metric_collection"
    case logProcessing = "log_processing"
    case traceGeneration = "trace_generation"
    case alertEvaluation = "alert_evaluation"
    case export
}

/// The totals behind ``MonitoringMonitoring``: per operation (and exporter), how many operations ran, how many
/// items they handled, and a histogram of their durations. Cheap to record into from any thread.
///
/// Limits (docs/profiler.md, "Self-monitoring"): an exporter name is at most ``maxExporterNameBytes`` bytes and at
/// most ``maxExporters`` names are kept; operations of further exporters are counted under `exporter="other"`.
public final class OperationLedger: Sendable {
    /// The longest exporter name accepted.
    public static let maxExporterNameBytes = 64
    /// The most distinct exporter names kept.
    public static let maxExporters = 64
    /// Upper bounds of the duration histogram, in seconds.
    public static let bucketBounds: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30]

    /// One operation kind's (and exporter's) totals.
    public struct Totals: Sendable, Hashable {
        public var items: UInt64 = 0
        /// The operations' durations, in seconds, over ``OperationLedger/bucketBounds``.
        public var durations = BucketCounts(boundCount: OperationLedger.bucketBounds.count)

        /// Operations recorded.
        public var operations: UInt64 { durations.count }
        /// Their total duration in seconds.
        public var seconds: Double { durations.sum }

        /// The mean duration of one operation (zero before any).
        public var averageDuration: Duration {
            operations == 0 ? .zero : .seconds(seconds / Double(operations))
        }
    }

    /// An operation kind with the exporter it is about (empty unless `.export`).
    public struct Key: Sendable, Hashable, Comparable {
        public var operation: MonitoredOperation
        public var exporter: String

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.operation.rawValue, lhs.exporter) < (rhs.operation.rawValue, rhs.exporter)
        }
    }

    private let totals = Mutex([Key: Totals]())

    public init() {}

    /// Adds one operation.
    ///
    /// - Throws: `invalidMetricValue` when `count` or `duration` is negative, or `exporter` is longer than
    ///   ``maxExporterNameBytes`` bytes; nothing is recorded then.
    public func record(
        _ operation: MonitoredOperation, exporter: String = "", count: Int, duration: Duration
    ) throws(MonitoringError) {
        guard count >= 0 else { throw MonitoringError(.invalidMetricValue, "count must not be negative (got \(count))") }
        guard duration >= .zero else {
            throw MonitoringError(.invalidMetricValue, "duration must not be negative (got \(duration))")
        }
        guard exporter.utf8.count <= Self.maxExporterNameBytes else {
            throw MonitoringError(
                .invalidMetricValue,
                "exporter name is \(exporter.utf8.count) bytes; at most \(Self.maxExporterNameBytes) are accepted")
        }
        let seconds = duration.inSeconds
        let bucket = BucketCounts.bucket(of: seconds, in: Self.bucketBounds)
        totals.withLock { totals in
            var key = Key(operation: operation, exporter: operation == .export ? exporter : "")
            if operation == .export, totals[key] == nil,
                totals.keys.count(where: { $0.operation == .export }) >= Self.maxExporters
            {
                key.exporter = "other"
            }
            totals[key, default: Totals()].add(count: count, seconds: seconds, bucket: bucket)
        }
    }

    /// Every kind recorded so far, in name order.
    public var snapshot: [(key: Key, totals: Totals)] {
        totals.withLock { $0.sorted { $0.key < $1.key }.map { (key: $0.key, totals: $0.value) } }
    }

    /// The totals of one kind over all its exporters.
    public func totals(of operation: MonitoredOperation) -> Totals {
        totals.withLock { totals in
            totals.reduce(into: Totals()) { sum, entry in
                guard entry.key.operation == operation else { return }
                let (items, overflow) = sum.items.addingReportingOverflow(entry.value.items)
                sum.items = overflow ? .max : items
                sum.durations.merge(entry.value.durations)
            }
        }
    }

    /// The ledger as series: `stepflow_operations_total`, `stepflow_operation_items_total` and
    /// `stepflow_operation_duration_seconds`, labelled `operation` (and `exporter` for exports).
    public func series(at now: Date) -> [MetricInfo] {
        var out: [MetricInfo] = []
        for (key, totals) in snapshot {
            var labels = [Label("operation", key.operation.rawValue)]
            if key.operation == .export { labels.insert(Label("exporter", key.exporter), at: 0) }
            func add(_ name: String, _ help: String, _ value: MetricValue) {
                out.append(MetricInfo(name: name, type: value.type, labels: labels, help: help, value: value, lastUpdated: now))
            }
            add("stepflow_operations_total", "Operations the host's pipelines (or the embedding application) reported.",
                .counter(Double(totals.operations)))
            add("stepflow_operation_items_total", "Items (samples, log entries, spans, rules) those operations handled.",
                .counter(Double(totals.items)))
            add("stepflow_operation_duration_seconds", "Duration of those operations.",
                .histogram(totals.durations.histogram(bounds: Self.bucketBounds)))
        }
        return out
    }
}

extension OperationLedger.Totals {
    mutating func add(count: Int, seconds: Double, bucket: Int) {
        let (sum, overflow) = items.addingReportingOverflow(UInt64(count))
        items = overflow ? .max : sum
        durations.observe(seconds, bucket: bucket)
    }
}
