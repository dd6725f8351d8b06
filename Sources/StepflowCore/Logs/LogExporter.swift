/// Something the host hands new log entries to, in order, batch by batch: the spec's `CustomLogExporter` as the
/// host sees it (a log-exporter plugin, or the built-in file exporter).
public protocol LogExporter: Sendable {
    /// A name unique among exporters; the host keeps the exporter's position under it.
    var name: String { get }
    /// Takes one batch. Throwing leaves the batch to be sent again (after a backoff); nothing is skipped.
    func exportLogsBatch(_ entries: [LogEntry]) async throws(MonitoringError)
    /// Releases what the exporter holds, when the host stops exporting to it.
    func shutdown() async
}

extension LogExporter {
    public func shutdown() async {}
}
