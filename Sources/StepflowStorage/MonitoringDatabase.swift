import Foundation
import GRDB
import StepflowCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The embedded SQLite database: one GRDB `DatabasePool` in WAL mode holding the spec's six tables.
///
/// Opening never overwrites a file it does not understand: a file that is not SQLite, a SQLite database of
/// another application, or one migrated by a newer stepflow-monitor is refused with an error that says so.
public final class MonitoringDatabase: Sendable {
    /// `PRAGMA application_id` of a stepflow-monitoring database ("STEP" in ASCII).
    public static let applicationID: Int32 = 0x5354_4550

    /// The underlying pool; writes hold its single writer connection only for the span of a closure.
    public let pool: DatabasePool
    /// The database file.
    public let path: String
    /// The device and inode of the file opened, to notice when `path` no longer names it (deleted, replaced).
    private let identity: (device: UInt64, inode: UInt64)?
    /// Why writes are refused (a failed integrity check), or `nil`.
    private let writeBlock = Mutex<String?>(nil)

    /// Opens (creating when absent) the database at `path` and migrates it to the current schema.
    ///
    /// - Parameters:
    ///   - path: the SQLite file; its directory is created when missing.
    ///   - busyTimeout: how long a writer waits for a lock held by another connection.
    ///   - fullSync: `storage.synchronous: full`: fsync every commit, so committed rows survive a power loss
    ///     (with the default, `normal`, they survive the process being killed).
    public init(path: String, busyTimeout: Duration = .seconds(5), fullSync: Bool = false) throws(MonitoringError) {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .databaseError(
                "cannot create the directory \(directory.path) for the database \(path): \(error.localizedDescription)",
                hint: "check the permissions, or set storage.path (STEPFLOW_MONITORING_STORAGE_PATH) elsewhere"
            )
        }
        if FileManager.default.fileExists(atPath: path) {
            try Self.checkIsSQLite(path: path)
        }

        var configuration = Configuration()
        // In milliseconds: `components.seconds` alone turned `busy_timeout: 500ms` into no wait at all.
        configuration.busyMode = .timeout(TimeInterval(busyTimeout.clampedMilliseconds) / 1000)
        configuration.label = "stepflow-monitoring"
        configuration.prepareDatabase { db in
            try db.execute(sql: fullSync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` on the writer when it turns WAL on, after `prepareDatabase` ran:
            // without this, `storage.synchronous: full` reached the readers only, which never commit.
            if fullSync {
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            }
        } catch {
            throw .databaseError(
                "cannot open the database \(path): \(error)",
                hint: "check that the file is a stepflow-monitoring SQLite database and is writable"
            )
        }
        self.pool = pool
        identity = Self.identity(of: path)
        try migrate()
    }

    /// Opens an existing database read-only, as the command-line tools do while a host writes to it: nothing is
    /// created, migrated or written.
    ///
    /// - Throws: `databaseError` when there is no file at `path`, it is not a stepflow-monitoring database, or its
    ///   schema is older or newer than this version reads.
    public init(readOnlyPath path: String) throws(MonitoringError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw .databaseError(
                "there is no database at \(path)",
                hint: "the host creates it when it starts; check storage.path, or pass --database")
        }
        try Self.checkIsSQLite(path: path)
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "stepflow-monitoring (read-only)"
        configuration.busyMode = .timeout(5)
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            let (applicationID, applied) = try pool.read { db -> (Int32, [String]) in
                let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let hasMigrations = try db.tableExists("grdb_migrations")
                let applied = hasMigrations
                    ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") : []
                return (applicationID, applied)
            }
            guard applicationID == Self.applicationID else {
                throw StorageRefusal(message: "\(path) is not a stepflow-monitoring database", hint: "check storage.path")
            }
            let known = Migrations.migrator.migrations
            if let unknown = applied.first(where: { !known.contains($0) }) {
                throw StorageRefusal(
                    message: "\(path) was written by a newer stepflow-monitor (schema migration \(unknown))",
                    hint: "use the stepflow-monitor that wrote it")
            }
            if applied.count < known.count {
                throw StorageRefusal(
                    message: "\(path) has an older schema (\(applied.joined(separator: ", ")))",
                    hint: "start the host once with this version, which migrates it")
            }
        } catch let refusal as StorageRefusal {
            throw .databaseError(refusal.message, hint: refusal.hint)
        } catch {
            throw .databaseError(
                "cannot open the database \(path) read-only: \(error)",
                hint: "check that the file is readable (and its -wal and -shm files, while the host runs)")
        }
        self.pool = pool
        identity = Self.identity(of: path)
    }

    /// The first 16 bytes of every SQLite 3 file.
    private static let sqliteHeader = Array("SQLite format 3\0".utf8)

    /// Refuses a non-empty file that does not start with the SQLite header, before SQLite touches it.
    private static func checkIsSQLite(path: String) throws(MonitoringError) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .databaseError(
                "cannot read the database file \(path)",
                hint: "check its permissions, or set storage.path elsewhere"
            )
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: sqliteHeader.count)) ?? Data()
        if head.isEmpty { return }
        if Array(head) != sqliteHeader {
            throw .databaseError(
                "\(path) is not a SQLite database; it was left untouched",
                hint: "point storage.path (STEPFLOW_MONITORING_STORAGE_PATH) at a new file or at a stepflow-monitoring database"
            )
        }
    }

    private func migrate() throws(MonitoringError) {
        let migrator = Migrations.migrator
        do {
            try pool.write { db in
                let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                let tables = try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                if applicationID != 0 && applicationID != Self.applicationID {
                    throw StorageRefusal(
                        message: "\(path) belongs to another application (application_id \(applicationID)); it was left untouched",
                        hint: "point storage.path at a new file")
                }
                if applicationID == 0 && !tables.isEmpty && !tables.contains("grdb_migrations") {
                    throw StorageRefusal(
                        message: "\(path) is a SQLite database of another application (tables: \(tables.prefix(5).joined(separator: ", "))); it was left untouched",
                        hint: "point storage.path at a new file")
                }
                if try migrator.hasBeenSuperseded(db) {
                    let applied = try migrator.appliedIdentifiers(db).sorted()
                    let known = migrator.migrations
                    throw StorageRefusal(
                        message: "\(path) was written by a newer stepflow-monitor (schema migrations \(applied.joined(separator: ", ")); this version knows \(known.joined(separator: ", "))); it was left untouched",
                        hint: "run the newer stepflow-monitor, or point storage.path at another file")
                }
            }
            try migrator.migrate(pool)
            try pool.write { db in
                try db.execute(sql: "PRAGMA application_id = \(Self.applicationID)")
            }
        } catch let refusal as StorageRefusal {
            throw .databaseError(refusal.message, hint: refusal.hint)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw .databaseError(
                "\(path) is not a SQLite database (or is encrypted or corrupt); it was left untouched",
                hint: "point storage.path at a new file")
        } catch {
            throw .databaseError("cannot migrate the database \(path): \(error)")
        }
    }

    // MARK: The storage boundary

    /// Runs `body` in a read transaction on one of the pool's reader connections, for async code. The calling
    /// task suspends while GRDB runs `body` on its own dispatch queue: no thread of Swift's cooperative pool
    /// (one per core) waits for SQLite, so a long scan cannot stall HTTP handlers or the scheduler.
    ///
    /// - Parameter doing: what the read is for, as the error says it ("query the logs").
    /// - Throws: `databaseError` naming `doing` and the file; a ``MonitoringError`` thrown by `body` as it is.
    public func read<Value: Sendable>(
        _ doing: String, _ body: @Sendable (Database) throws -> Value
    ) async throws(MonitoringError) -> Value {
        try await mappingErrors(doing) { try await pool.read(body) }
    }

    /// Runs `body` in a write transaction on the pool's writer connection, for async code, suspending the
    /// calling task (see ``read(_:_:)``). Refused while ``checkWritable()`` fails.
    public func write<Value: Sendable>(
        _ doing: String, _ body: @Sendable (Database) throws -> Value
    ) async throws(MonitoringError) -> Value {
        try checkWritable()
        return try await mappingErrors(doing) { try await pool.write(body) }
    }

    /// The one place a database error becomes a ``MonitoringError`` naming what was being done and the file.
    private func mappingErrors<Value>(
        _ doing: String, _ operation: () async throws -> Value
    ) async throws(MonitoringError) -> Value {
        do {
            return try await operation()
        } catch let error as MonitoringError {
            throw error
        } catch {
            throw .databaseError("cannot \(doing) in \(path): \(error)")
        }
    }

    /// The schema migrations applied to this database, oldest first.
    public func appliedMigrations() throws(MonitoringError) -> [String] {
        do {
            return try pool.read { db in try Migrations.migrator.appliedMigrations(db) }
        } catch {
            throw .databaseError("cannot read the migrations of \(path): \(error)")
        }
    }

    /// Runs a trivial query, proving the database answers; used by the storage health check.
    public func ping() async throws(MonitoringError) {
        _ = try await read("answer a trivial query (the database does not answer)") { db in
            try Int.fetchOne(db, sql: "SELECT 1")
        }
    }

    private static func identity(of path: String) -> (device: UInt64, inode: UInt64)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// What is wrong with the file under the host, or `nil`: `path` no longer names the file that was opened
    /// (deleted, or replaced by another), so everything written would go where nobody can read it.
    public func fileProblem() -> String? {
        guard let identity else { return nil }
        var info = stat()
        guard stat(path, &info) == 0 else {
            return "the database file \(path) was deleted while the host runs (\(String(cString: strerror(errno))))"
        }
        if UInt64(info.st_dev) != identity.device || UInt64(info.st_ino) != identity.inode {
            return "the database file \(path) was replaced by another file while the host runs"
        }
        return nil
    }

    /// Refuses writes from now on, saying why (a failed integrity check); `nil` allows them again.
    public func blockWrites(_ reason: String?) {
        writeBlock.withLock { $0 = reason }
    }

    /// Throws when a write must not happen: the file was deleted or replaced, or writes are blocked. Every writer
    /// calls it before its transaction, so rows stay queued (and ingest answers 503) instead of going into a file
    /// nobody will read.
    public func checkWritable() throws(MonitoringError) {
        if let problem = fileProblem() ?? writeBlock.withLock({ $0 }) {
            throw .databaseError(problem, hint: "restart the host once storage.path names a healthy database file")
        }
    }

    /// SQLite's `PRAGMA quick_check` on a reader connection (writers go on): `nil` when the file is sound, else
    /// the first problems it found.
    public func quickCheck() async throws(MonitoringError) -> String? {
        do {
            let lines = try await pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
            return lines == ["ok"] ? nil : lines.joined(separator: "; ")
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB {
            // So damaged that the check itself cannot walk it.
            return error.message ?? "database disk image is malformed"
        } catch {
            throw .databaseError("cannot check the integrity of \(path): \(error)")
        }
    }

    /// Rows whose time lies outside ``ValidTime`` (written before times were checked, or by another program),
    /// per table: queries and aggregation step over them, and this counts them for `/health`. Each count walks
    /// the table's time index from both ends, not the table.
    public func rowsOutsideValidTime() async throws(MonitoringError) -> [String: Int] {
        let tables = [
            ("monitoring_metrics", "timestamp"), ("monitoring_logs", "timestamp"), ("monitoring_traces", "start_time"),
        ]
        do {
            return try await pool.read { db in
                var counts: [String: Int] = [:]
                for (table, column) in tables {
                    let count = try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM \(table) WHERE \(column) < ? OR \(column) > ?",
                        arguments: [ValidTime.earliestMilliseconds, ValidTime.latestMilliseconds]) ?? 0
                    if count > 0 { counts[table] = count }
                }
                return counts
            }
        } catch {
            throw .databaseError("cannot count the rows outside the valid time range in \(path): \(error)")
        }
    }

    /// Gives back SQLite's caches: the reader connections close (they reopen on the next read) and the writer
    /// shrinks its page cache. Returns once the memory is freed, so that a `malloc_trim` after it can return it to
    /// the kernel: it waits for the writer's current transaction and briefly holds new reads back. **Blocks the
    /// calling thread**: call it from a thread of its own, never from the cooperative pool.
    public func releaseMemory() {
        pool.releaseMemory()
    }

    /// The size of the database file plus its WAL, in bytes.
    public func fileSize() -> UInt64 {
        [path, path + "-wal"].reduce(0) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.uint64Value
            return total + (size ?? 0)
        }
    }
}

/// A refusal raised inside a GRDB closure and turned into a `MonitoringError` outside it.
private struct StorageRefusal: Error {
    var message: String
    var hint: String
}
