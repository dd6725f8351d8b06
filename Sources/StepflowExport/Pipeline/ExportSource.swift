import Foundation
import StepflowCore
import StepflowStorage

/// What an exporter sends: one of the three kinds of stored data.
public enum ExportKind: String, Sendable, CaseIterable {
    case logs, metrics, traces
}

/// One stored item an exporter has not sent yet: its row id, the time that decides whether it is too old to send
/// (``DocumentExportJob``'s `maxBacklogAge`), and the item.
public struct ExportItem<Item: Sendable>: Sendable {
    public var row: Int64
    public var time: Date
    public var item: Item

    public init(row: Int64, time: Date, item: Item) {
        self.row = row
        self.time = time
        self.item = item
    }
}

/// Where an exporter reads what it sends: stored rows of one kind, in row-id order.
public protocol ExportSource: Sendable {
    associatedtype Item: Sendable
    var kind: ExportKind { get }
    /// The highest row id stored (0 for none): where a new exporter starts.
    func lastRow() async throws(MonitoringError) -> Int64
    /// Up to `limit` items with a row id above `position`, and the highest row id read (rows that cannot be
    /// decoded included, so that they are stepped over), `nil` when there is none.
    func items(after position: Int64, limit: Int) async throws(MonitoringError) -> (items: [ExportItem<Item>], lastRow: Int64?)
}

/// Stored log entries, timed by their timestamp.
public struct LogExportSource: ExportSource {
    let store: LogStore
    public init(store: LogStore) { self.store = store }
    public var kind: ExportKind { .logs }
    public func lastRow() async throws(MonitoringError) -> Int64 { try await store.lastRow() }
    public func items(after position: Int64, limit: Int) async throws(MonitoringError) -> (items: [ExportItem<LogEntry>], lastRow: Int64?) {
        let rows = try await store.entries(after: position, limit: limit)
        return (rows.map { ExportItem(row: $0.row, time: $0.entry.timestamp, item: $0.entry) }, rows.last?.row)
    }
}

/// Stored samples, timed by their timestamp.
public struct MetricExportSource: ExportSource {
    let store: MetricStore
    public init(store: MetricStore) { self.store = store }
    public var kind: ExportKind { .metrics }
    public func lastRow() async throws(MonitoringError) -> Int64 { try await store.lastRowID() ?? 0 }
    public func items(after position: Int64, limit: Int) async throws(MonitoringError) -> (items: [ExportItem<Metric>], lastRow: Int64?) {
        let page = try await store.samples(afterRow: position, limit: limit)
        return (page.samples.map { ExportItem(row: $0.id, time: $0.metric.timestamp, item: $0.metric) }, page.lastRow)
    }
}

/// Stored (ended) spans, timed by their end.
public struct SpanExportSource: ExportSource {
    let store: TraceStore
    public init(store: TraceStore) { self.store = store }
    public var kind: ExportKind { .traces }
    public func lastRow() async throws(MonitoringError) -> Int64 { try await store.lastRow() }
    public func items(after position: Int64, limit: Int) async throws(MonitoringError) -> (items: [ExportItem<Span>], lastRow: Int64?) {
        let page = try await store.spans(after: position, limit: limit)
        return (page.spans.map { ExportItem(row: $0.row, time: $0.span.endTime ?? $0.span.startTime, item: $0.span) }, page.lastRow)
    }
}
