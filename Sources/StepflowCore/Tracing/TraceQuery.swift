import Foundation

/// A trace: its spans (parents before children, siblings by start time) and its time span: the spec's `Trace`.
public struct Trace: Sendable, Hashable {
    public var traceID: TraceID
    public var spans: [Span]
    public var metadata: [String: JSONValue]
    public var startTime: Date
    public var endTime: Date
    public var duration: Duration

    public init(traceID: TraceID, spans: [Span], metadata: [String: JSONValue] = [:]) {
        self.traceID = traceID
        self.spans = Trace.treeOrder(spans)
        self.metadata = metadata
        startTime = spans.map(\.startTime).min() ?? Date(timeIntervalSince1970: 0)
        endTime = spans.map { $0.endTime ?? $0.startTime }.max() ?? startTime
        duration = .milliseconds(clampingSeconds: endTime.timeIntervalSince(startTime))
    }

    /// The spans with no parent in this trace (one, for a complete trace).
    public var roots: [Span] {
        let ids = Set(spans.map(\.spanID))
        return spans.filter { $0.parentSpanID.map { !ids.contains($0) } ?? true }
    }

    /// The direct children of `span`, by start time.
    public func children(of span: Span) -> [Span] {
        spans.filter { $0.parentSpanID == span.spanID }
    }

    /// Depth-first: each root, then its children (by start time), recursively. A span whose parent is missing
    /// counts as a root.
    static func treeOrder(_ spans: [Span]) -> [Span] {
        let byStart = spans.sorted { $0.startTime != $1.startTime ? $0.startTime < $1.startTime : $0.name < $1.name }
        let ids = Set(byStart.map(\.spanID))
        var children: [SpanID: [Span]] = [:]
        var roots: [Span] = []
        for span in byStart {
            if let parent = span.parentSpanID, ids.contains(parent), parent != span.spanID {
                children[parent, default: []].append(span)
            } else {
                roots.append(span)
            }
        }
        var ordered: [Span] = []
        ordered.reserveCapacity(spans.count)
        var visited = Set<SpanID>()
        func visit(_ span: Span) {
            guard visited.insert(span.spanID).inserted else { return }
            ordered.append(span)
            for child in children[span.spanID] ?? [] { visit(child) }
        }
        for root in roots { visit(root) }
        // A cycle of parents (a malformed import) leaves spans unvisited: keep them, by start time.
        for span in byStart where !visited.contains(span.spanID) { ordered.append(span) }
        return ordered
    }
}

/// Which spans or traces a query returns: the spec's `TraceQuery`. Every field set must match.
public struct TraceQuery: Sendable, Hashable {
    /// One whole trace.
    public var traceID: TraceID?
    /// Spans of this operation (span name).
    public var operation: String?
    /// Spans that started at or after / at or before.
    public var since: Date?
    public var until: Date?
    /// Spans that took at least this long.
    public var minimumDuration: Duration?
    public var status: SpanStatus?
    /// The most traces returned.
    public var limit: Int

    public init(
        traceID: TraceID? = nil, operation: String? = nil, since: Date? = nil, until: Date? = nil,
        minimumDuration: Duration? = nil, status: SpanStatus? = nil, limit: Int = 100
    ) {
        self.traceID = traceID
        self.operation = operation
        self.since = since
        self.until = until
        self.minimumDuration = minimumDuration
        self.status = status
        self.limit = limit
    }

    /// The query, or `invalidQuery` when its range is inverted or its limit out of range.
    public func validated() throws(MonitoringError) -> TraceQuery {
        if let since, let until, since > until {
            throw .invalidQuery("the time range is inverted: since is after until", hint: "swap the two times")
        }
        guard (1...10_000).contains(limit) else { throw .invalidQuery("limit must be from 1 to 10000, found \(limit)") }
        if let minimumDuration, minimumDuration < .zero {
            throw .invalidQuery("the minimum duration must not be negative")
        }
        return self
    }
}

/// Which spans statistics cover: the spec's `TraceFilter`.
public struct TraceFilter: Sendable, Hashable {
    public var since: Date?
    public var until: Date?
    public var operation: String?

    public init(since: Date? = nil, until: Date? = nil, operation: String? = nil) {
        self.since = since
        self.until = until
        self.operation = operation
    }
}

/// The spans of one operation, summarised.
public struct OperationStats: Sendable, Hashable {
    public var operation: String
    public var count: Int
    /// Spans that ended `error` or `timed_out`, as a fraction of `count`.
    public var errorRate: Double
    public var p50: Duration
    public var p95: Duration
    public var p99: Duration

    public init(operation: String, count: Int, errorRate: Double, p50: Duration, p95: Duration, p99: Duration) {
        self.operation = operation
        self.count = count
        self.errorRate = errorRate
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
    }
}

/// Statistics of recorded spans: the spec's `TraceStats`.
public struct TraceStats: Sendable, Hashable {
    public var traces: Int
    public var spans: Int
    /// Per operation, by name.
    public var operations: [OperationStats]

    public init(traces: Int, spans: Int, operations: [OperationStats]) {
        self.traces = traces
        self.spans = spans
        self.operations = operations
    }
}
