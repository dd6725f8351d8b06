import Foundation
import GRDB
import StepflowCore
import StepflowStorage
import Testing

@Suite("The monitoring database")
struct MonitoringDatabaseTests {
    @Test("a new file gets the spec's six tables and ours (families, aggregates, export positions), in WAL mode")
    func createsSchema() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try MonitoringDatabase(path: directory.file("nested/dir/monitoring.sqlite"))
        let (tables, journalMode) = try database.pool.read { db in
            (try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
             try String.fetchOne(db, sql: "PRAGMA journal_mode"))
        }
        for table in ["monitoring_metrics", "monitoring_logs", "monitoring_traces", "monitoring_alerts",
                      "monitoring_alert_rules", "monitoring_health_checks", "monitoring_metric_families",
                      "monitoring_metric_aggregates", "monitoring_export_positions", "monitoring_silences"] {
            #expect(tables.contains(table), "missing \(table)")
        }
        #expect(journalMode == "wal")
        let columns = try database.pool.read { db in try db.columns(in: "monitoring_logs").map(\.name) }
        #expect(columns == ["id", "log_id", "level", "message", "trace_id", "span_id", "user_id", "request_id",
                            "component", "module", "function", "line", "context", "timestamp", "metadata", "source"])
        #expect(try database.appliedMigrations() == ["v1-spec-tables", "v2-metric-families-and-aggregates", "v3-logs-and-traces", "v4-alerting"])
    }

    @Test("storage.busy_timeout keeps its fraction: 500ms waits half a second for a lock, not zero")
    func busyTimeoutKeepsMilliseconds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try MonitoringDatabase(path: directory.file("busy.sqlite"), busyTimeout: .milliseconds(500))
        guard case .timeout(let seconds) = database.pool.configuration.busyMode else {
            Issue.record("expected a busy timeout, found \(database.pool.configuration.busyMode)")
            return
        }
        #expect(seconds == 0.5)
    }

    @Test("a second open reuses the file and keeps its rows")
    func reopens() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("monitoring.sqlite")
        do {
            let database = try MonitoringDatabase(path: path)
            try await MetricStore(database: database).insert([Metric(name: "up", value: .gauge(1))])
        }
        let reopened = try MonitoringDatabase(path: path)
        await #expect(try MetricStore(database: reopened).count() == 1)
    }

    @Test("a file that is not SQLite is refused and left byte for byte as it was")
    func refusesNonSQLite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("notes.sqlite")
        let original = Data("these are my precious notes, not a database\n".utf8)
        try original.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: MonitoringError.self) { try MonitoringDatabase(path: path) }
        #expect(error?.code == .databaseError)
        #expect(error?.message.contains("is not a SQLite database") == true)
        #expect(error?.message.contains(path) == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)
    }

    @Test("a database written by a newer version is refused and not migrated")
    func refusesNewerSchema() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("monitoring.sqlite")
        do {
            let database = try MonitoringDatabase(path: path)
            try database.pool.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
            }
        }
        let error = #expect(throws: MonitoringError.self) { try MonitoringDatabase(path: path) }
        #expect(error?.message.contains("newer stepflow-monitor") == true)
        #expect(error?.message.contains("v9-from-the-future") == true)
    }

    @Test("another application's SQLite database is refused and gets no tables of ours")
    func refusesForeignDatabase() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("other.sqlite")
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in try db.execute(sql: "CREATE TABLE invoices (id INTEGER PRIMARY KEY)") }
        }
        let error = #expect(throws: MonitoringError.self) { try MonitoringDatabase(path: path) }
        #expect(error?.message.contains("another application") == true)
        let tables = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        #expect(tables == ["invoices"])
    }
}
