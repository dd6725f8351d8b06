import Foundation
import GRDB

import StepflowCore

/// The fields of stored log entries that alert queries match and group on, without building whole entries.
public struct LogFieldScan: Sendable {
    /// The columns read, in order: any of ``LogSelector/fields``.
    public var fields: [String]
    /// One array per entry, newest first: the values of ``fields`` (`""` for NULL).
    public var rows: [[String]]
}

extension LogStore {
    /// The entries written between `since` and `until` (inclusive) whose level is in `levels` (all when `nil`) and
    /// whose `equal` fields have exactly these values, newest first, reading only `fields`.
    ///
    /// The level, time and equality conditions are answered by SQLite with the table's indexes; other matchers are
    /// the caller's to apply to the fields read.
    public func scan(
        since: Date, until: Date, levels: Set<LogLevel>?, equal: [(field: String, value: String)], fields: [String]
    ) async throws(MonitoringError) -> LogFieldScan {
        let known = Set(LogSelector.fields)
        for field in fields + equal.map(\.field) where !known.contains(field) {
            throw .invalidQuery("'\(field)' is not a log field; the fields are " + LogSelector.fields.joined(separator: ", "))
        }
        var conditions = ["timestamp BETWEEN ? AND ?"]
        var arguments: [any DatabaseValueConvertible & Sendable] = [since.unixMilliseconds, until.unixMilliseconds]
        if let levels {
            if levels.isEmpty { return LogFieldScan(fields: fields, rows: []) }
            conditions.append("level IN (" + levels.map { _ in "?" }.joined(separator: ",") + ")")
            arguments += levels.map(\.rawValue).sorted()
        }
        for (field, value) in equal {
            conditions.append("\(field) = ?")
            arguments.append(value)
        }
        let columns = fields.isEmpty ? "1" : fields.map { "COALESCE(\($0), '')" }.joined(separator: ", ")
        let sql = """
            SELECT \(columns) FROM monitoring_logs WHERE \(conditions.joined(separator: " AND "))
            ORDER BY timestamp DESC, id DESC
            """
        let rows = try await database.read("read the logs") { [arguments] db -> [[String]] in
            var rows: [[String]] = []
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(arguments))
            while let row = try cursor.next() {
                rows.append(fields.isEmpty ? [] : (0..<fields.count).map { row[$0] as String })
            }
            return rows
        }
        return LogFieldScan(fields: fields, rows: rows)
    }
}
