import Foundation
import GRDB
import StepflowCore

/// One row of `monitoring_traces`: a span that ended, its events and attributes already JSON.
public struct SpanRow: Sendable {
    public var span: Span
    public var events: String?
    public var metadata: String?

    public init(_ span: Span) {
        self.span = span
        events = span.events.isEmpty ? nil : JSONValue.array(span.events.map(Self.json)).jsonText
        metadata = span.metadata.isEmpty ? nil : JSONValue.object(span.metadata).jsonText
    }

    static func json(_ event: TraceEvent) -> JSONValue {
        .object([
            "name": .string(event.name), "timestamp": .int(event.timestamp.unixMilliseconds),
            "attributes": .object(event.attributes),
        ])
    }
}

/// Reads and writes `monitoring_traces`: one row per span, written when the span ends.
///
/// Indexes: `(trace_id)`, unique `(trace_id, span_id)` (a span sent twice replaces itself), `(name, start_time)`
/// and `(start_time)`.
public struct TraceStore: Sendable {
    public let database: MonitoringDatabase

    public init(database: MonitoringDatabase) {
        self.database = database
    }

    private static let insertSQL = """
        INSERT INTO monitoring_traces (trace_id, span_id, parent_span_id, name, start_time, end_time, events,
            metadata, status, created_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
        ON CONFLICT(trace_id, span_id) DO UPDATE SET parent_span_id = excluded.parent_span_id, name = excluded.name,
            start_time = excluded.start_time, end_time = excluded.end_time, events = excluded.events,
            metadata = excluded.metadata, status = excluded.status
        """

    /// Writes the spans in one transaction.
    public func insert(_ rows: [SpanRow]) async throws(MonitoringError) {
        if rows.isEmpty { return }
        let now = Date().unixMilliseconds
        try await database.write("write \(rows.count) spans") { db in
            try RawStatement.with(Self.insertSQL, in: db) { statement in
                for row in rows {
                    let span = row.span
                    statement.bind(1, span.traceID.description)
                    statement.bind(2, span.spanID.description)
                    statement.bind(3, span.parentSpanID?.description)
                    statement.bind(4, span.name)
                    statement.bind(5, span.startTime.unixMilliseconds)
                    statement.bind(6, span.endTime?.unixMilliseconds)
                    statement.bind(7, row.events)
                    statement.bind(8, row.metadata)
                    statement.bind(9, span.status.rawValue)
                    statement.bind(10, now)
                    try statement.step()
                }
            }
        }
    }

    /// Every stored span of one trace, as a ``Trace`` (`nil` when none is stored).
    public func trace(_ id: TraceID) async throws(MonitoringError) -> Trace? {
        let spans = try await database.read("read trace \(id)") { db in try Self.spans(db, trace: id.description) }
        return spans.isEmpty ? nil : Trace(traceID: id, spans: spans)
    }

    /// The traces that have a span matching `query`, newest first (by their latest matching span), whole.
    public func traces(_ query: TraceQuery) async throws(MonitoringError) -> [Trace] {
        let query = try query.validated()
        if let traceID = query.traceID { return try await trace(traceID).map { [$0] } ?? [] }
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible & Sendable] = []
        if let operation = query.operation {
            conditions.append("name = ?")
            arguments.append(operation)
        }
        if let since = query.since {
            conditions.append("start_time >= ?")
            arguments.append(since.unixMilliseconds)
        }
        if let until = query.until {
            conditions.append("start_time <= ?")
            arguments.append(until.unixMilliseconds)
        }
        if let minimum = query.minimumDuration {
            conditions.append("end_time - start_time >= ?")
            arguments.append(minimum.clampedMilliseconds)
        }
        if let status = query.status {
            conditions.append("status = ?")
            arguments.append(status.rawValue)
        }
        let clause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(query.limit)
        return try await database.read("query the traces") { [arguments] db in
            let ids = try String.fetchAll(
                db,
                sql: """
                    SELECT trace_id FROM monitoring_traces \(clause)
                    GROUP BY trace_id ORDER BY MAX(start_time) DESC LIMIT ?
                    """,
                arguments: StatementArguments(arguments))
            return try ids.compactMap { text -> Trace? in
                guard let id = TraceID(hex: text) else { return nil }
                let spans = try Self.spans(db, trace: text)
                return Trace(traceID: id, spans: spans)
            }
        }
    }

    /// Spans with a row id above `position`, oldest row first, at most `limit`, and the highest row id read (rows
    /// that cannot be decoded included, so that an exporter steps over them): what a trace exporter has not sent.
    public func spans(
        after position: Int64, limit: Int
    ) async throws(MonitoringError) -> (spans: [(row: Int64, span: Span)], lastRow: Int64?) {
        return try await database.read("read the spans") { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(Self.columns), id FROM monitoring_traces WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [position, max(limit, 1)])
            let spans = rows.compactMap { row -> (row: Int64, span: Span)? in
                Self.span(row).map { (row[9] as Int64, $0) }
            }
            return (spans, rows.last.map { $0[9] as Int64 })
        }
    }

    /// The highest row id (0 when there are none): where a new exporter starts.
    public func lastRow() async throws(MonitoringError) -> Int64 {
        return try await database.read("read the spans") { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM monitoring_traces") ?? 0
        }
    }

    /// Per operation: spans, error rate and p50/p95/p99 durations of the ended spans `filter` selects.
    public func stats(_ filter: TraceFilter?) async throws(MonitoringError) -> TraceStats {
        var conditions = ["end_time IS NOT NULL"]
        var arguments: [any DatabaseValueConvertible & Sendable] = []
        if let since = filter?.since {
            conditions.append("start_time >= ?")
            arguments.append(since.unixMilliseconds)
        }
        if let until = filter?.until {
            conditions.append("start_time <= ?")
            arguments.append(until.unixMilliseconds)
        }
        if let operation = filter?.operation {
            conditions.append("name = ?")
            arguments.append(operation)
        }
        let clause = "WHERE " + conditions.joined(separator: " AND ")
        return try await database.read("count the spans") { [arguments] db in
            var durations: [String: [Int64]] = [:]
            var errors: [String: Int] = [:]
            var traces = Set<String>()
            let rows = try Row.fetchCursor(
                db, sql: "SELECT name, status, end_time - start_time, trace_id FROM monitoring_traces \(clause)",
                arguments: StatementArguments(arguments))
            var spans = 0
            while let row = try rows.next() {
                let name: String = row[0]
                let status: String = row[1]
                // A row from an older version may hold times no check would accept (or no end): its difference
                // is read as a real number and clamped, never trusted to fit.
                guard let difference = row[2] as Double?, !difference.isNaN else { continue }
                durations[name, default: []].append(
                    Int64(min(max(difference, 0), Double(ValidTime.latestMilliseconds))))  // range: clamped
                if status == SpanStatus.error.rawValue || status == SpanStatus.timedOut.rawValue {
                    errors[name, default: 0] += 1
                }
                traces.insert(row[3])
                spans += 1
            }
            let operations = durations.keys.sorted().map { name -> OperationStats in
                let sorted = durations[name]!.sorted()
                func percentile(_ p: Double) -> Duration {
                    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1  // range: p is 0.5, 0.95, 0.99
                    return .milliseconds(sorted[min(max(rank, 0), sorted.count - 1)])
                }
                return OperationStats(
                    operation: name, count: sorted.count,
                    errorRate: Double(errors[name] ?? 0) / Double(sorted.count),
                    p50: percentile(0.5), p95: percentile(0.95), p99: percentile(0.99))
            }
            return TraceStats(traces: traces.count, spans: spans, operations: operations)
        }
    }

    /// The number of stored spans.
    public func count() async throws(MonitoringError) -> Int {
        return try await database.read("count the spans") { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_traces") ?? 0 }
    }

    /// Deletes spans that started before `cutoff`, in small transactions; returns how many.
    public func deleteSpans(olderThan cutoff: Date, batchSize: Int = 5_000) async throws(MonitoringError) -> Int {
        try await RetentionSQL.delete(
            from: "monitoring_traces", timestampColumn: "start_time", olderThan: cutoff, batchSize: batchSize,
            database: database)
    }

    static let columns = "trace_id, span_id, parent_span_id, name, start_time, end_time, events, metadata, status"

    /// The stored spans of one trace. Rows are read from a cursor, in place, by position (see `LogStore.entries`).
    static func spans(_ db: Database, trace: String) throws -> [Span] {
        var spans: [Span] = []
        let rows = try Row.fetchCursor(
            db, sql: "SELECT \(Self.columns) FROM monitoring_traces WHERE trace_id = ?", arguments: [trace])
        while let row = try rows.next() {
            if let span = span(row) { spans.append(span) }
        }
        return spans
    }

    /// A column that may be NULL, decoded without going through `Optional`'s generic conformance.
    private static func text(_ row: Row, _ index: Int) -> String? {
        row.hasNull(atIndex: index) ? nil : (row[index] as String)
    }

    static func span(_ row: Row) -> Span? {
        guard let traceID = TraceID(hex: row[0] as String), let spanID = SpanID(hex: row[1] as String) else { return nil }
        let parent = text(row, 2)
        let end: Int64? = row.hasNull(atIndex: 5) ? nil : (row[5] as Int64)
        var events: [TraceEvent] = []
        if let text = text(row, 6),
            let decoded = try? MetricValueCoding.decoder.decode([JSONValue].self, from: Data(text.utf8))
        {
            events = decoded.compactMap { value -> TraceEvent? in
                guard case .object(let event) = value, case .string(let name)? = event["name"] else { return nil }
                var milliseconds: Int64 = 0
                if case .int(let value)? = event["timestamp"] { milliseconds = value }
                var attributes: [String: JSONValue] = [:]
                if case .object(let members)? = event["attributes"] { attributes = members }
                return TraceEvent(name: name, timestamp: Date(unixMilliseconds: milliseconds), attributes: attributes)
            }
        }
        return Span(
            spanID: spanID, traceID: traceID, parentSpanID: parent.flatMap(SpanID.init(hex:)), name: row[3],
            startTime: Date(unixMilliseconds: row[4]), endTime: end.map(Date.init(unixMilliseconds:)),
            events: events, metadata: MetricValueCoding.decodeMetadata(text(row, 7)),
            status: SpanStatus(rawValue: row[8] as String) ?? .ok, sampled: true)
    }
}
