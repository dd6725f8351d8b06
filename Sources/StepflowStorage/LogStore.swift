import Foundation
import GRDB
import StepflowCore

/// One row of `monitoring_logs`, ready to insert: what the log write queue holds.
public struct LogRow: Sendable {
    public var entry: LogEntry
    /// `context.additionalFields` as a JSON object, or `nil` when empty.
    public var context: String?
    /// `metadata` as a JSON object, or `nil` when empty.
    public var metadata: String?

    /// The row of an entry; its JSON columns are encoded here, once.
    public init(_ entry: LogEntry) {
        self.entry = entry
        context = entry.context.additionalFields.isEmpty ? nil : JSONValue.object(entry.context.additionalFields).jsonText
        metadata = entry.metadata.isEmpty ? nil : JSONValue.object(entry.metadata).jsonText
    }
}

/// Reads and writes `monitoring_logs`.
///
/// Indexes: `(timestamp)`, `(level, timestamp)`, `(component, timestamp)`, `(trace_id)` and `(request_id)`
/// (partial: only rows that have one). A query by component, level, trace or request walks its index; every other
/// condition (module, function, span, user, message text) filters the rows of the time range.
public struct LogStore: Sendable {
    public let database: MonitoringDatabase

    public init(database: MonitoringDatabase) {
        self.database = database
    }

    static let columns =
        "id, log_id, level, message, trace_id, span_id, user_id, request_id, component, module, function, line, "
        + "context, timestamp, metadata, source"

    private static let insertSQL = """
        INSERT INTO monitoring_logs (log_id, level, message, trace_id, span_id, user_id, request_id, component,
            module, function, line, context, timestamp, metadata, source)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
        """

    /// Writes the rows in one transaction.
    public func insert(_ rows: [LogRow]) async throws(MonitoringError) {
        if rows.isEmpty { return }
        try await database.write("write \(rows.count) log entries") { db in
            try RawStatement.with(Self.insertSQL, in: db) { statement in
                for row in rows {
                    let entry = row.entry
                    statement.bind(1, entry.id.rawValue)
                    statement.bind(2, entry.level.rawValue)
                    statement.bind(3, entry.message)
                    statement.bind(4, entry.context.traceID)
                    statement.bind(5, entry.context.spanID)
                    statement.bind(6, entry.context.userID)
                    statement.bind(7, entry.context.requestID)
                    statement.bind(8, entry.context.component)
                    statement.bind(9, entry.context.module)
                    statement.bind(10, entry.context.function)
                    statement.bind(11, entry.context.line.map(Int64.init))
                    statement.bind(12, row.context)
                    statement.bind(13, entry.timestamp.unixMilliseconds)
                    statement.bind(14, row.metadata)
                    statement.bind(15, entry.source)
                    try statement.step()
                }
            }
        }
    }

    /// A page of the entries matching `query`, and the cursor of the next page.
    public func query(_ query: LogQuery) async throws(MonitoringError) -> LogPage {
        let query = try query.validated()
        var (conditions, arguments) = Self.conditions(of: query)
        let descending = query.order == .newestFirst
        if let cursor = query.cursor {
            // A row value, not `timestamp > ? OR (timestamp = ? AND id > ?)`: with bound parameters SQLite turns
            // that OR into a scan of the whole index, so page 1,000 of an export took 40 ms instead of 3.
            conditions.append(descending ? "(timestamp, id) < (?, ?)" : "(timestamp, id) > (?, ?)")
            arguments += [cursor.timestamp, cursor.row]
        }
        let direction = descending ? "DESC" : "ASC"
        let sql = """
            SELECT \(Self.columns) FROM monitoring_logs \(Self.whereClause(conditions))
            ORDER BY timestamp \(direction), id \(direction) LIMIT ?
            """
        arguments.append(query.limit + 1)
        let found = try await database.read("query the logs") { [arguments] db in
            try Self.entries(db, sql: sql, arguments: StatementArguments(arguments))
        }
        let page = found.prefix(query.limit)
        var next: LogCursor?
        if found.count > query.limit, let last = page.last {
            next = LogCursor(timestamp: last.entry.timestamp.unixMilliseconds, row: last.row)
        }
        return LogPage(entries: page.map(\.entry), nextCursor: next)
    }

    /// Counts per level and component, first and last time and rate, of the entries `filter` selects.
    public func stats(_ filter: LogFilter?) async throws(MonitoringError) -> LogStats {
        let query = LogQuery(
            minimumLevel: filter?.minimumLevel, since: filter?.since, until: filter?.until, component: filter?.component)
        let (conditions, arguments) = Self.conditions(of: query)
        let clause = Self.whereClause(conditions)
        return try await database.read("count the logs") { db in
            var byLevel: [LogLevel: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT level, COUNT(*) FROM monitoring_logs \(clause) GROUP BY level",
                arguments: StatementArguments(arguments))
            {
                if let level = LogLevel(parsing: row[0]) { byLevel[level, default: 0] += row[1] }
            }
            var byComponent: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT component, COUNT(*) FROM monitoring_logs \(clause) GROUP BY component",
                arguments: StatementArguments(arguments))
            {
                byComponent[row[0] ?? ""] = row[1]
            }
            let bounds = try Row.fetchOne(
                db, sql: "SELECT MIN(timestamp), MAX(timestamp) FROM monitoring_logs \(clause)",
                arguments: StatementArguments(arguments))
            let first: Int64? = bounds?[0]
            let last: Int64? = bounds?[1]
            let total = byLevel.values.reduce(0, +)
            let from = filter?.since?.unixMilliseconds ?? first
            let to = filter?.until?.unixMilliseconds ?? last
            var rate = 0.0
            // In Double: a stored row from an older version may hold times whose difference overflows Int64.
            if let from, let to, to > from { rate = Double(total) / ((Double(to) - Double(from)) / 60_000) }
            return LogStats(
                total: total, byLevel: byLevel, byComponent: byComponent,
                first: first.map(Date.init(unixMilliseconds:)), last: last.map(Date.init(unixMilliseconds:)),
                ratePerMinute: rate)
        }
    }

    /// Entries with a row id above `position`, oldest first, at most `limit`: what a log exporter has not sent.
    public func entries(after position: Int64, limit: Int) async throws(MonitoringError) -> [(row: Int64, entry: LogEntry)] {
        return try await database.read("read the logs") { db in
            try Self.entries(
                db, sql: "SELECT \(Self.columns) FROM monitoring_logs WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [position, limit])
        }
    }

    /// The highest row id (0 when there are none): where a new exporter starts.
    public func lastRow() async throws(MonitoringError) -> Int64 {
        return try await database.read("read the logs") { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM monitoring_logs") ?? 0 }
    }

    /// The number of stored entries.
    public func count() async throws(MonitoringError) -> Int {
        return try await database.read("count the logs") { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_logs") ?? 0 }
    }

    /// Deletes entries older than `cutoff`, in small transactions; returns how many.
    public func deleteEntries(olderThan cutoff: Date, batchSize: Int = 5_000) async throws(MonitoringError) -> Int {
        try await RetentionSQL.delete(
            from: "monitoring_logs", timestampColumn: "timestamp", olderThan: cutoff, batchSize: batchSize,
            database: database)
    }

    // MARK: SQL

    static func conditions(of query: LogQuery) -> ([String], [any DatabaseValueConvertible & Sendable]) {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible & Sendable] = []
        if let level = query.minimumLevel, level != .trace {
            let levels = level.andAbove
            conditions.append("level IN (" + levels.map { _ in "?" }.joined(separator: ",") + ")")
            arguments += levels.map(\.rawValue)
        }
        if let since = query.since {
            conditions.append("timestamp >= ?")
            arguments.append(since.unixMilliseconds)
        }
        if let until = query.until {
            conditions.append("timestamp <= ?")
            arguments.append(until.unixMilliseconds)
        }
        let equal: [(String, String?)] = [
            ("component", query.component), ("module", query.module), ("function", query.function),
            ("trace_id", query.traceID), ("span_id", query.spanID), ("request_id", query.requestID),
            ("user_id", query.userID),
        ]
        for (column, value) in equal {
            if let value {
                conditions.append("\(column) = ?")
                arguments.append(value)
            }
        }
        if let text = query.messageContains, !text.isEmpty {
            conditions.append("instr(message, ?) > 0")
            arguments.append(text)
        }
        return (conditions, arguments)
    }

    static func whereClause(_ conditions: [String]) -> String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }

    /// The positions of ``columns``: reading a row by position skips GRDB's case-insensitive lookup of each name,
    /// which took a third of an export's time.
    enum Column {
        static let id = 0, logID = 1, level = 2, message = 3, traceID = 4, spanID = 5, userID = 6, requestID = 7
        static let component = 8, module = 9, function = 10, line = 11, context = 12, timestamp = 13, metadata = 14
        static let source = 15
    }

    /// The entries a `SELECT` of ``columns`` returns, with their row ids. Rows are read from a cursor, in place, and
    /// their columns by position with non-optional types: GRDB then reads each column straight from SQLite, where
    /// `Row.fetchAll` copies every value into a `DatabaseValue` and decodes it generically (two thirds of an export's
    /// time).
    static func entries(_ db: Database, sql: String, arguments: StatementArguments) throws -> [(row: Int64, entry: LogEntry)] {
        var entries: [(row: Int64, entry: LogEntry)] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            entries.append((row: row[Column.id], entry: entry(row)))
        }
        return entries
    }

    /// A column that may be NULL, decoded without going through `Optional`'s generic conformance.
    private static func text(_ row: Row, _ index: Int) -> String? {
        row.hasNull(atIndex: index) ? nil : (row[index] as String)
    }

    static func entry(_ row: Row) -> LogEntry {
        let level: String = row[Column.level]
        return LogEntry(
            id: LogID(row[Column.logID]),
            level: LogLevel(rawValue: level) ?? LogLevel(parsing: level) ?? .info,
            message: row[Column.message],
            context: LogContext(
                component: text(row, Column.component) ?? "", module: text(row, Column.module) ?? "",
                function: text(row, Column.function) ?? "",
                line: row.hasNull(atIndex: Column.line) ? nil : UInt32(exactly: row[Column.line] as Int64),
                traceID: text(row, Column.traceID), spanID: text(row, Column.spanID), userID: text(row, Column.userID),
                requestID: text(row, Column.requestID),
                additionalFields: MetricValueCoding.decodeMetadata(text(row, Column.context))),
            timestamp: Date(unixMilliseconds: row[Column.timestamp]),
            source: text(row, Column.source) ?? "",
            metadata: MetricValueCoding.decodeMetadata(text(row, Column.metadata)))
    }
}
