/// Records, queries and exports log entries: the spec's `LogManager` trait.
public protocol LogManager: Sendable {
    /// Records one entry now, with `logs.source` as its source.
    func log(_ level: LogLevel, _ message: String, context: LogContext) async throws(MonitoringError)
    /// Records complete entries.
    func logBatch(_ entries: [LogEntry]) async throws(MonitoringError)
    /// The entries matching `query`, in its order, at most its limit.
    func queryLogs(_ query: LogQuery) async throws(MonitoringError) -> [LogEntry]
    /// Counts per level and component, first and last time, rate.
    func getLogStats(filter: LogFilter?) async throws(MonitoringError) -> LogStats
    /// Deletes entries older than `retentionDays` days (0 deletes nothing).
    func cleanupLogs(retentionDays: Int) async throws(MonitoringError)
    /// The entries matching `query` (its limit ignored: every match) in `format`.
    func exportLogs(_ query: LogQuery, format: ExportFormat) async throws(MonitoringError) -> [UInt8]
}
