import Foundation
import GRDB
import StepflowCore

/// Deletes expired rows of one table in small transactions: each deletes at most `batchSize` of the oldest
/// rows, so the single writer connection is held only briefly and other writes interleave.
enum RetentionSQL {
    static func delete(
        from table: String, timestampColumn: String, olderThan cutoff: Date, batchSize: Int,
        database: MonitoringDatabase, only condition: String? = nil
    ) async throws(MonitoringError) -> Int {
        let restriction = condition.map { "(\($0)) AND " } ?? ""
        let limit = max(batchSize, 1)
        let cutoffMilliseconds = cutoff.unixMilliseconds
        var total = 0
        do {
            while true {
                try database.checkWritable()
                let deleted = try await database.pool.write { db -> Int in
                    try db.execute(
                        sql: """
                            DELETE FROM \(table) WHERE id IN (
                                SELECT id FROM \(table) WHERE \(restriction)\(timestampColumn) < ? ORDER BY \(timestampColumn) LIMIT ?)
                            """,
                        arguments: [cutoffMilliseconds, limit])
                    return db.changesCount
                }
                total += deleted
                if deleted < limit { return total }
            }
        } catch {
            throw .databaseError("cannot delete expired rows of \(table) from \(database.path): \(error)")
        }
    }
}
