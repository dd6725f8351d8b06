import Foundation
import GRDB
import StepflowCore

/// Reads and writes rows of `monitoring_health_checks`: the history of health check results.
public struct HealthCheckStore: Sendable {
    public let database: MonitoringDatabase

    public init(database: MonitoringDatabase) {
        self.database = database
    }

    /// Appends check results in one transaction.
    public func insert(_ statuses: [HealthStatus]) async throws(MonitoringError) {
        if statuses.isEmpty { return }
        try await database.write("write health check results") { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO monitoring_health_checks (component, status, message, details, last_check, response_time_ms)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
            for status in statuses {
                let milliseconds = status.responseTime.clampedMilliseconds
                try statement.execute(arguments: [
                    status.component, status.status.rawValue, status.message,
                    MetricValueCoding.encodeMetadata(status.details),
                    status.lastCheck.unixMilliseconds, milliseconds,
                ])
            }
        }
    }

    /// The latest stored result of `component`, if any.
    public func latest(component: String) async throws(MonitoringError) -> HealthStatus? {
        return try await database.read("read health checks") { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT component, status, message, details, last_check, response_time_ms
                    FROM monitoring_health_checks WHERE component = ? ORDER BY last_check DESC, id DESC LIMIT 1
                    """,
                arguments: [component])
            else { return nil }
            return HealthStatus(
                component: row["component"],
                status: HealthState(rawValue: row["status"]) ?? .unknown,
                message: row["message"] ?? "",
                details: MetricValueCoding.decodeMetadata(row["details"]),
                lastCheck: Date(unixMilliseconds: row["last_check"]),
                responseTime: .milliseconds(row["response_time_ms"] as Int64? ?? 0))
        }
    }
}

extension HealthCheckStore {
    /// Deletes check results older than `cutoff`, in small transactions; returns how many rows were deleted.
    public func deleteResults(olderThan cutoff: Date, batchSize: Int = 5_000) async throws(MonitoringError) -> Int {
        try await RetentionSQL.delete(
            from: "monitoring_health_checks", timestampColumn: "last_check", olderThan: cutoff, batchSize: batchSize,
            database: database)
    }
}
