import Logging
import StepflowCore
import StepflowScheduling
import Synchronization

/// Runs SQLite's quick integrity check on the database on a schedule (`storage.integrity_check_interval`), on a
/// reader connection so writers go on. A file found corrupt is reported unhealthy on `/health` with what is
/// wrong, and writes are refused (rows stay queued, ingest answers 503) rather than added to a damaged file.
public final class StorageIntegrityJob: ScheduledJob {
    public let name = "storage-integrity"
    public let kind = "builtin"
    public var isBusy: Bool { false }
    private let database: MonitoringDatabase
    private let logger: Logger
    private let problem = Mutex<String?>(nil)
    private let outOfRange = Mutex<[String: Int]>([:])

    public init(database: MonitoringDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// What the last check found wrong, or `nil` (also before the first check).
    public var lastProblem: String? { problem.withLock { $0 } }

    /// Rows per table whose time lies outside the valid range, as the last check counted them: skipped by every
    /// query and computation, and shown on `/health` (storage details) and `/metrics`.
    public var rowsOutsideValidTime: [String: Int] { outOfRange.withLock { $0 } }

    public func run() async throws {
        let counted = try await database.rowsOutsideValidTime()
        outOfRange.withLock { $0 = counted }
        if !counted.isEmpty {
            logger.warning(
                "rows with times outside the years 1970 to 9999 are stored; they are skipped",
                metadata: ["rows": "\(counted.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"])
        }
        let found = try await database.quickCheck()
        let before = problem.withLock { state -> String? in
            defer { state = found }
            return state
        }
        if let found {
            database.blockWrites("the integrity check of \(database.path) failed: \(found)")
            if before == nil {
                logger.critical(
                    "the database failed its integrity check; writes are refused",
                    metadata: ["path": "\(database.path)", "problems": "\(found)"])
            }
            throw MonitoringError.databaseError("the integrity check of \(database.path) failed: \(found)")
        } else if before != nil {
            database.blockWrites(nil)
            logger.notice("the database passes its integrity check again; writes resume", metadata: ["path": "\(database.path)"])
        }
    }
}
