import Foundation
import GRDB
import StepflowCore

/// Reads and writes rows of `monitoring_metrics`.
public struct MetricStore: Sendable {
    public let database: MonitoringDatabase

    public init(database: MonitoringDatabase) {
        self.database = database
    }

    private static let insertSQL = """
        INSERT INTO monitoring_metrics (name, value_type, value_data, labels, timestamp, metadata)
        VALUES (?, ?, ?, ?, ?, ?)
        """

    /// Writes the samples in one transaction through one cached statement.
    ///
    /// Callers batch: the metrics write queue hands over up to `max_metrics_per_batch` samples per call.
    public func insert(_ metrics: [Metric]) async throws(MonitoringError) {
        if metrics.isEmpty { return }
        do {
            try await database.pool.write { db in
                let statement = try db.cachedStatement(sql: Self.insertSQL)
                for metric in metrics {
                    statement.setUncheckedArguments([
                        metric.name,
                        metric.value.type.rawValue,
                        MetricValueCoding.encode(metric.value),
                        MetricValueCoding.encodeLabels(metric.seriesKey.labels),
                        metric.timestamp.unixMilliseconds,
                        MetricValueCoding.encodeMetadata(metric.metadata),
                    ])
                    try statement.execute()
                }
            }
        } catch {
            throw .databaseError("cannot write \(metrics.count) metric samples to \(database.path): \(error)")
        }
    }

    /// The number of stored samples, optionally of one metric name.
    public func count(name: String? = nil) throws(MonitoringError) -> Int {
        do {
            return try database.pool.read { db in
                if let name {
                    return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_metrics WHERE name = ?",
                                            arguments: [name]) ?? 0
                }
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_metrics") ?? 0
            }
        } catch {
            throw .databaseError("cannot count metric samples in \(database.path): \(error)")
        }
    }

    /// Stored samples of the metric `name`, oldest first, at most `limit` of them.
    public func samples(name: String, limit: Int = 10_000) throws(MonitoringError) -> [Metric] {
        do {
            return try database.pool.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT name, value_type, value_data, labels, timestamp, metadata FROM monitoring_metrics
                        WHERE name = ? ORDER BY timestamp, id LIMIT ?
                        """,
                    arguments: [name, limit])
                return rows.compactMap { row -> Metric? in
                    let type: String = row["value_type"]
                    let data: String = row["value_data"]
                    guard let value = MetricValueCoding.decode(type: type, data: data) else { return nil }
                    return Metric(
                        name: row["name"],
                        value: value,
                        labels: MetricValueCoding.decodeLabels(row["labels"]),
                        timestamp: Date(unixMilliseconds: row["timestamp"]),
                        metadata: MetricValueCoding.decodeMetadata(row["metadata"]))
                }
            }
        } catch {
            throw .databaseError("cannot read samples of \(name) from \(database.path): \(error)")
        }
    }
}

extension MetricStore {
    /// Deletes samples older than `cutoff`, `batchSize` rows per transaction so that writers are never blocked
    /// for long; returns how many rows were deleted.
    public func deleteSamples(olderThan cutoff: Date, batchSize: Int = 5_000) async throws(MonitoringError) -> Int {
        try await RetentionSQL.delete(
            from: "monitoring_metrics", timestampColumn: "timestamp", olderThan: cutoff, batchSize: batchSize,
            database: database)
    }
}
