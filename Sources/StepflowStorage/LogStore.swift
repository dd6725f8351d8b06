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
        do {
            try await database.pool.write { db in
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
        } catch {
            throw .databaseError("cannot write \(rows.count) log entries to \(database.path): \(error)")
        }
    }

    /// A page of the entries matching `query`, and the cursor of the next page.
    public func query(_ query: LogQuery) throws(MonitoringError) -> LogPage {
        let query = try query.validated()
        var (conditions, arguments) = Self.conditions(of: query)
        let descending = query.order == .newestFirst
        if let cursor = query.cursor {
            conditions.append(
                descending ? "(timestamp < ? OR (timestamp = ? AND id < ?))" : "(timestamp > ? OR (timestamp = ? AND id > ?))")
            arguments += [cursor.timestamp, cursor.timestamp, cursor.row]
        }
        let direction = descending ? "DESC" : "ASC"
        let sql = """
            SELECT \(Self.columns) FROM monitoring_logs \(Self.whereClause(conditions))
            ORDER BY timestamp \(direction), id \(direction) LIMIT ?
            """
        arguments.append(query.limit + 1)
        do {
            let rows = try database.pool.read { db in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)) }
            let page = rows.prefix(query.limit)
            let entries = page.map(Self.entry)
            var next: LogCursor?
            if rows.count > query.limit, let last = page.last {
                next = LogCursor(timestamp: last["timestamp"], row: last["id"])
            }
            return LogPage(entries: entries, nextCursor: next)
        } catch {
            throw .databaseError("cannot query the logs of \(database.path): \(error)")
        }
    }

    /// Counts per level and component, first and last time and rate, of the entries `filter` selects.
    public func stats(_ filter: LogFilter?) throws(MonitoringError) -> LogStats {
        let query = LogQuery(
            minimumLevel: filter?.minimumLevel, since: filter?.since, until: filter?.until, component: filter?.component)
        let (conditions, arguments) = Self.conditions(of: query)
        let clause = Self.whereClause(conditions)
        do {
            return try database.pool.read { db in
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
                if let from, let to, to > from { rate = Double(total) / (Double(to - from) / 60_000) }
                return LogStats(
                    total: total, byLevel: byLevel, byComponent: byComponent,
                    first: first.map(Date.init(unixMilliseconds:)), last: last.map(Date.init(unixMilliseconds:)),
                    ratePerMinute: rate)
            }
        } catch {
            throw .databaseError("cannot count the logs of \(database.path): \(error)")
        }
    }

    /// Entries with a row id above `position`, oldest first, at most `limit`: what a log exporter has not sent.
    public func entries(after position: Int64, limit: Int) throws(MonitoringError) -> [(row: Int64, entry: LogEntry)] {
        do {
            return try database.pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT \(Self.columns) FROM monitoring_logs WHERE id > ? ORDER BY id LIMIT ?",
                    arguments: [position, limit]
                ).map { (row: $0["id"], entry: Self.entry($0)) }
            }
        } catch {
            throw .databaseError("cannot read the logs of \(database.path): \(error)")
        }
    }

    /// The highest row id (0 when there are none): where a new exporter starts.
    public func lastRow() throws(MonitoringError) -> Int64 {
        do {
            return try database.pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM monitoring_logs") ?? 0 }
        } catch {
            throw .databaseError("cannot read the logs of \(database.path): \(error)")
        }
    }

    /// The number of stored entries.
    public func count() throws(MonitoringError) -> Int {
        do {
            return try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_logs") ?? 0 }
        } catch {
            throw .databaseError("cannot count the logs of \(database.path): \(error)")
        }
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

    static func entry(_ row: Row) -> LogEntry {
        let line: Int64? = row["line"]
        return LogEntry(
            id: LogID(row["log_id"]),
            level: LogLevel(parsing: row["level"]) ?? .info,
            message: row["message"],
            context: LogContext(
                component: row["component"] ?? "", module: row["module"] ?? "", function: row["function"] ?? "",
                line: line.flatMap { UInt32(exactly: $0) }, traceID: row["trace_id"], spanID: row["span_id"],
                userID: row["user_id"], requestID: row["request_id"],
                additionalFields: MetricValueCoding.decodeMetadata(row["context"])),
            timestamp: Date(unixMilliseconds: row["timestamp"]),
            source: row["source"] ?? "",
            metadata: MetricValueCoding.decodeMetadata(row["metadata"]))
    }
}
