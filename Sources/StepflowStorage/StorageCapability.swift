import Foundation
import Logging
import ServiceLifecycle
import StepflowCore
import StepflowScheduling

/// How long each kind of row is kept (the `retention_days` of `metrics:`, `logs:`, `tracing:` and `alerts:`;
/// 0 keeps everything).
public struct RetentionPolicy: Sendable, Hashable {
    /// `metrics.retention_days`.
    public var metricsDays: Int
    /// `logs.retention_days`.
    public var logsDays: Int
    /// `tracing.retention_days`.
    public var tracesDays: Int
    /// `alerts.retention_days` (resolved alerts and ended silences).
    public var alertsDays: Int

    /// Days to keep each kind of row; 0 keeps it for ever.
    public init(metricsDays: Int, logsDays: Int, tracesDays: Int, alertsDays: Int) {
        self.metricsDays = metricsDays
        self.logsDays = logsDays
        self.tracesDays = tracesDays
        self.alertsDays = alertsDays
    }
}

/// The storage capability: the database file and this host's claim on it, retention, the integrity check and
/// the export positions every exporter resumes from.
public struct StorageCapability: Sendable {
    /// The SQLite file, behind its one async boundary.
    public let database: MonitoringDatabase
    /// This host's claim on ``database``'s file (`<storage.path>.lock`).
    public let lock: DatabaseLock
    /// `monitoring_export_positions`: where each exporter resumes.
    public let positions: ExportPositionStore
    /// `PRAGMA quick_check` on `storage.integrity_check_interval`; its last problem makes storage unhealthy.
    public let integrity: StorageIntegrityJob
    /// Deletes rows past their retention, hourly, in small transactions.
    public let retention: RetentionJob
    /// The integrity check (every `storage.integrity_check_interval`) and retention (hourly).
    public let jobs: [BuiltinJob]
    /// Holds ``lock`` until everything else has stopped: put it first in the service group.
    public let services: [any Service]

    /// Claims and opens the database of `configuration` and checks a small file's integrity at once (a file over
    /// 256 MiB is checked on the schedule, in the background).
    ///
    /// - Throws: `MonitoringError` when another host holds the file (naming its PID) or it cannot be opened.
    public static func build(
        _ configuration: StorageConfig, retention policy: RetentionPolicy, logger: Logger
    ) async throws(MonitoringError) -> StorageCapability {
        // One host per database: a second one is refused here, naming the first one's PID, before it opens anything.
        let lock = try DatabaseLock(databasePath: configuration.path)
        let database = try MonitoringDatabase(
            path: configuration.path, busyTimeout: configuration.busyTimeout, fullSync: configuration.synchronous == "full")
        logger.info(
            "database opened",
            metadata: ["path": "\(database.path)", "migrations": "\((try? database.appliedMigrations())?.joined(separator: ",") ?? "?")"])
        let integrity = StorageIntegrityJob(database: database, logger: logger)
        if database.fileSize() < 256 << 20 { try? await integrity.run() }
        let retention = RetentionJob(
            metrics: MetricStore(database: database), healthChecks: HealthCheckStore(database: database),
            retentionDays: policy.metricsDays, logs: (LogStore(database: database), policy.logsDays),
            traces: (TraceStore(database: database), policy.tracesDays),
            alerts: (AlertStore(database: database), policy.alertsDays), logger: logger)
        return StorageCapability(
            database: database, lock: lock, positions: ExportPositionStore(database: database), integrity: integrity,
            retention: retention,
            jobs: [
                BuiltinJob(integrity, every: configuration.integrityCheckInterval, timeout: .seconds(3600)),
                // Expired rows are deleted hourly, in small transactions.
                BuiltinJob(retention, every: .seconds(3600), timeout: .seconds(300), reportsHealth: true),
            ],
            services: [DatabaseLockService(lock: lock)])
    }
}
