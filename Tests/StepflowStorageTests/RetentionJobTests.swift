import Foundation
import StepflowCore
import StepflowStorage
import StepflowTestSupport
import Logging
import Testing

@Suite("Retention")
struct RetentionJobTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func seededDatabase() async throws -> (MonitoringDatabase, String) {
        let directory = Scratch.root + "stepflow-retention-" + UUID().uuidString
        let database = try MonitoringDatabase(path: directory + "/r.sqlite")
        let day = 86_400.0
        // 12 samples per day for 10 days back, and one health check result per day.
        let samples = (0..<120).map { index in
            Metric(name: "kept_or_not", value: .gauge(Double(index)),
                   timestamp: now.addingTimeInterval(-Double(index) * day / 12))
        }
        try await MetricStore(database: database).insert(samples)
        try await HealthCheckStore(database: database).insert((0..<10).map { index in
            HealthStatus(component: "storage", status: .healthy, message: "",
                         lastCheck: now.addingTimeInterval(-Double(index) * day - 60))
        })
        return (database, directory)
    }

    @Test("rows older than retention_days are deleted in small batches; newer ones stay")
    func deletesExpiredRows() async throws {
        let (database, directory) = try await seededDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fixedNow = now
        let job = RetentionJob(
            metrics: MetricStore(database: database), healthChecks: HealthCheckStore(database: database),
            retentionDays: 3, logger: Logger(label: "test"), now: { fixedNow })
        try await job.run()
        // Samples at 0…3 days back survive: indices 0…36 (36 × 2h = 72h exactly is not older than the cutoff).
        let remaining = try await MetricStore(database: database).samples(name: "kept_or_not")
        #expect(remaining.count == 37)
        #expect(remaining.allSatisfy { $0.timestamp >= fixedNow.addingTimeInterval(-3 * 86_400) })
        let checks = try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_health_checks") }
        #expect(checks == 3)
        #expect(job.deleted == 83 + 7)
        // Batches: a batch size smaller than the backlog deletes the same rows.
        try await job.run()
        #expect(job.deleted == 90)
    }

    @Test("retention_days 0 keeps everything")
    func zeroKeepsEverything() async throws {
        let (database, directory) = try await seededDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let job = RetentionJob(
            metrics: MetricStore(database: database), healthChecks: HealthCheckStore(database: database),
            retentionDays: 0, logger: Logger(label: "test"))
        try await job.run()
        await #expect(try MetricStore(database: database).count() == 120)
        #expect(job.deleted == 0)
    }

    @Test("deleting in batches smaller than the backlog removes every expired row")
    func smallBatches() async throws {
        let (database, directory) = try await seededDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let deleted = try await MetricStore(database: database)
            .deleteSamples(olderThan: now.addingTimeInterval(-3 * 86_400), batchSize: 10)
        #expect(deleted == 83)
        await #expect(try MetricStore(database: database).count() == 37)
    }
}
