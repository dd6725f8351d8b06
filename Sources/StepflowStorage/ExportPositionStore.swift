import Foundation
import GRDB
import StepflowCore

/// How far each log exporter has got, in `monitoring_export_positions`: the row id of the last entry it took,
/// so a restarted host resumes where it stopped and an exporter that keeps failing loses nothing.
public struct ExportPositionStore: Sendable {
    public let database: MonitoringDatabase

    public init(database: MonitoringDatabase) {
        self.database = database
    }

    /// The position of `exporter`, or `nil` when it has none yet.
    public func position(of exporter: String) async throws(MonitoringError) -> Int64? {
        return try await database.read("read the position of exporter \(exporter)") { db in
            try Int64.fetchOne(
                db, sql: "SELECT position FROM monitoring_export_positions WHERE exporter = ?", arguments: [exporter])
        }
    }

    /// Records that `exporter` has taken every entry up to row `position`.
    public func setPosition(_ position: Int64, of exporter: String) async throws(MonitoringError) {
        try await database.write("store the position of exporter \(exporter)") { db in
            try db.execute(
                sql: """
                    INSERT INTO monitoring_export_positions (exporter, position, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT(exporter) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
                    """,
                arguments: [exporter, position, Date().unixMilliseconds])
        }
    }
}
