import Foundation
import GRDB
import GRDBSQLite
import StepflowCore

/// What is known of one metric family (one name): its type and HELP text, kept in `monitoring_metric_families`.
public struct MetricFamilyRow: Sendable, Hashable {
    public var name: String
    public var type: MetricType
    public var help: String?

    public init(name: String, type: MetricType, help: String?) {
        self.name = name
        self.type = type
        self.help = help
    }
}

/// Reads and writes rows of `monitoring_metrics` (and the families of `monitoring_metric_families`).
public struct MetricStore: Sendable {
    public let database: MonitoringDatabase

    public init(database: MonitoringDatabase) {
        self.database = database
    }

    private static let insertSQL = """
        INSERT INTO monitoring_metrics (name, value_type, value_data, labels, timestamp, metadata)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6)
        """

    private static let familySQL = """
        INSERT INTO monitoring_metric_families (name, value_type, help, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET value_type = excluded.value_type,
            help = COALESCE(excluded.help, help), updated_at = excluded.updated_at
        """

    /// Writes the rows (and the families whose type or HELP changed) in one transaction.
    ///
    /// Callers batch: the metrics write queue hands over up to `max_metrics_per_batch` rows per call. This is the
    /// hottest loop of the host, so it binds through the sqlite3 C API on GRDB's connection, with text borrowed
    /// from the rows (`SQLITE_STATIC`) instead of copied: nothing is allocated per row but its value's text.
    public func insert(_ rows: [MetricRow], families: [MetricFamilyRow] = []) async throws(MonitoringError) {
        if rows.isEmpty && families.isEmpty { return }
        try await database.write("write \(rows.count) metric samples") { db in
            if !rows.isEmpty { try Self.insertRows(rows, db: db) }
            if !families.isEmpty {
                let now = Date().unixMilliseconds
                let statement = try db.cachedStatement(sql: Self.familySQL)
                for family in families {
                    try statement.execute(arguments: [family.name, family.type.rawValue, family.help, now])
                }
            }
        }
    }

    /// Writes samples with their families (type and HELP): a convenience over ``insert(_:families:)``.
    public func insert(_ metrics: [Metric]) async throws(MonitoringError) {
        var families: [String: MetricFamilyRow] = [:]
        for metric in metrics {
            let help = metric.help ?? families[metric.name]?.help
            families[metric.name] = MetricFamilyRow(name: metric.name, type: metric.value.type, help: help)
        }
        try await insert(metrics.map(MetricRow.init), families: Array(families.values))
    }

    private static func insertRows(_ rows: [MetricRow], db: Database) throws {
        try RawStatement.with(insertSQL, in: db) { raw in
            let statement = raw.sqliteStatement
            for row in rows {
                // Text is borrowed from the rows (SQLITE_STATIC), valid inside these closures only: the statement
                // runs, and its bindings are cleared, before they return.
                let code = withText(row.name) { name, nameLength in
                    withText(row.type.rawValue) { type, typeLength in
                        withText(MetricValueCoding.encode(row.value)) { value, valueLength in
                            withText(row.labels) { labels, labelsLength in
                                withText(row.metadata) { metadata, metadataLength in
                                    sqlite3_bind_text(statement, 1, name, nameLength, nil)
                                    sqlite3_bind_text(statement, 2, type, typeLength, nil)
                                    sqlite3_bind_text(statement, 3, value, valueLength, nil)
                                    if let labels {
                                        sqlite3_bind_text(statement, 4, labels, labelsLength, nil)
                                    } else {
                                        sqlite3_bind_null(statement, 4)
                                    }
                                    sqlite3_bind_int64(statement, 5, row.timestamp)
                                    if let metadata {
                                        sqlite3_bind_text(statement, 6, metadata, metadataLength, nil)
                                    } else {
                                        sqlite3_bind_null(statement, 6)
                                    }
                                    return raw.run()
                                }
                            }
                        }
                    }
                }
                try raw.check(code)
            }
        }
    }

    /// Borrows a string's UTF-8 bytes (`nil` for `nil`) for the span of `body`.
    @inline(__always)
    private static func withText<Result>(
        _ text: String?, _ body: (UnsafePointer<CChar>?, Int32) -> Result
    ) -> Result {
        guard var text else { return body(nil, 0) }
        return text.withUTF8 { utf8 in
            // An empty string still needs a non-NULL pointer, or SQLite stores NULL.
            guard let base = utf8.baseAddress, utf8.count > 0 else { return body("", 0) }
            return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) { body($0, Int32(utf8.count)) }
        }
    }

    /// The number of stored samples, optionally of one metric name.
    public func count(name: String? = nil) async throws(MonitoringError) -> Int {
        return try await database.read("count metric samples") { db in
            if let name {
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_metrics WHERE name = ?",
                                        arguments: [name]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_metrics") ?? 0
        }
    }

    /// Stored samples of the metric `name`, oldest first, at most `limit` of them.
    public func samples(name: String, limit: Int = 10_000) async throws(MonitoringError) -> [Metric] {
        return try await database.read("read samples of \(name)") { db in
            let help = try String.fetchOne(
                db, sql: "SELECT help FROM monitoring_metric_families WHERE name = ?", arguments: [name])
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT name, value_type, value_data, labels, timestamp, metadata FROM monitoring_metrics
                    WHERE name = ? ORDER BY timestamp, id LIMIT ?
                    """,
                arguments: [name, limit])
            return rows.compactMap { Self.sample($0, help: help) }
        }
    }
}

extension MetricStore {
    /// A sample from a row with `name, value_type, value_data, labels, timestamp, metadata`; `nil` when its value
    /// does not decode.
    static func sample(_ row: Row, help: String?) -> Metric? {
        guard let value = MetricValueCoding.decode(type: row["value_type"], data: row["value_data"]) else { return nil }
        var metadata = MetricValueCoding.decodeMetadata(row["metadata"])
        if let help { metadata["help"] = .string(help) }
        return Metric(
            name: row["name"], value: value, labels: MetricValueCoding.decodeLabels(row["labels"]),
            timestamp: Date(unixMilliseconds: row["timestamp"]), metadata: metadata)
    }

    /// The id of the newest stored sample row, `nil` when there is none: where an exporter that starts at the end
    /// starts.
    public func lastRowID() async throws(MonitoringError) -> Int64? {
        return try await database.read("read the newest sample") { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM monitoring_metrics") }
    }

    /// Stored sample rows after row `id`, in row order, at most `limit` read, each with its row id and HELP text:
    /// what an exporter reads next. Rows are written in the order samples were accepted. `lastRow` is the last row
    /// read, decodable or not, so that a reader moves past a row it cannot decode instead of stopping at it.
    public func samples(
        afterRow id: Int64, limit: Int
    ) async throws(MonitoringError) -> (samples: [(id: Int64, metric: Metric)], lastRow: Int64?) {
        return try await database.read("read samples after row \(id)") { db in
            let help = try Dictionary(
                Row.fetchAll(db, sql: "SELECT name, help FROM monitoring_metric_families WHERE help IS NOT NULL AND help != ''")
                    .map { ($0["name"] as String, $0["help"] as String) },
                uniquingKeysWith: { first, _ in first })
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, name, value_type, value_data, labels, timestamp, metadata FROM monitoring_metrics
                    WHERE id > ? ORDER BY id LIMIT ?
                    """,
                arguments: [id, max(limit, 1)])
            let decoded = rows.compactMap { row -> (id: Int64, metric: Metric)? in
                Self.sample(row, help: help[row["name"]]).map { (row["id"], $0) }
            }
            return (decoded, rows.last.map { $0["id"] as Int64 })
        }
    }

    /// Deletes samples older than `cutoff`, `batchSize` rows per transaction so that writers are never blocked
    /// for long; returns how many rows were deleted.
    public func deleteSamples(olderThan cutoff: Date, batchSize: Int = 5_000) async throws(MonitoringError) -> Int {
        try await RetentionSQL.delete(
            from: "monitoring_metrics", timestampColumn: "timestamp", olderThan: cutoff, batchSize: batchSize,
            database: database)
    }
}
