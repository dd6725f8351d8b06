import Foundation
import Logging
import StepflowCore
import StepflowScheduling
import StepflowStorage
import Synchronization

/// Hands one exporter the log entries written since its last batch, in order, every `logs.export_interval`.
///
/// The exporter's position (the row id of the last entry it took) is kept in `monitoring_export_positions`:
/// it moves only after the exporter accepted a batch, so an exporter that fails gets the same entries again after
/// the scheduler's backoff, and nothing is skipped or lost, across restarts too. A new exporter starts with the
/// entries written after it was first run. Each exporter is a job of its own: one that fails or hangs delays no
/// other. With a byte budget (`budgets.log_bytes_per_batch` of a plugin), a batch is cut at the budget and the rest
/// waits for the next call; that is counted and logged once per run.
public final class LogExportJob: ScheduledJob {
    public let name: String
    public let kind: String
    public let exporter: any LogExporter
    private let store: LogStore
    private let positions: ExportPositionStore
    private let batchSize: Int
    private let byteBudget: Int?
    private let maxBatchesPerRun: Int
    private let logger: Logger
    private let operations: OperationLedger?
    private let state = Mutex<(exported: UInt64, batches: UInt64, deferred: UInt64, position: Int64?)>((0, 0, 0, nil))

    /// - Parameters:
    ///   - name: the job's name (`plugin:<name>` for a plugin, `export:<name>` for a built-in exporter).
    ///   - byteBudget: the most bytes of records per call, or `nil` for none.
    ///   - operations: where each accepted batch is counted as an `export` by this exporter.
    public init(
        name: String, kind: String, exporter: any LogExporter, store: LogStore, positions: ExportPositionStore,
        batchSize: Int = 1000, byteBudget: Int? = nil, maxBatchesPerRun: Int = 100, operations: OperationLedger? = nil,
        logger: Logger
    ) {
        self.operations = operations
        self.name = name
        self.kind = kind
        self.exporter = exporter
        self.store = store
        self.positions = positions
        self.batchSize = max(batchSize, 1)
        self.byteBudget = byteBudget.map { max($0, 1) }
        self.maxBatchesPerRun = max(maxBatchesPerRun, 1)
        self.logger = logger
    }

    /// Entries exported, calls made, and entries deferred by the byte budget, since start; the position.
    public var counts: (exported: UInt64, batches: UInt64, deferred: UInt64, position: Int64?) { state.withLock { $0 } }

    public func run() async throws {
        var position: Int64
        if let stored = try await positions.position(of: exporter.name) {
            position = stored
        } else {
            position = try await store.lastRow()
            try await positions.setPosition(position, of: exporter.name)
        }
        var deferred = 0
        for _ in 0..<maxBatchesPerRun {
            let rows = try await store.entries(after: position, limit: batchSize)
            guard !rows.isEmpty else { break }
            let taken = cut(rows)
            let started = ContinuousClock.now
            try await exporter.exportLogsBatch(taken.map(\.entry))
            try? operations?.record(
                .export, exporter: String(exporter.name.utf8.prefix(OperationLedger.maxExporterNameBytes)) ?? "other",
                count: taken.count, duration: started.duration(to: .now))
            position = taken.last!.row
            try await positions.setPosition(position, of: exporter.name)
            let stop = rows.count < batchSize && taken.count == rows.count
            deferred += rows.count - taken.count
            state.withLock {
                $0.exported += UInt64(taken.count)
                $0.batches += 1
                $0.deferred += UInt64(rows.count - taken.count)
                $0.position = position
            }
            if stop { break }
        }
        if deferred > 0, let byteBudget {
            logger.notice(
                "log exporter reached its byte budget per batch; the rest went in later batches",
                metadata: ["exporter": "\(exporter.name)", "budget": "\(byteBudget)", "deferred": "\(deferred)"])
        }
    }

    public func shutdown() async {
        await exporter.shutdown()
    }

    /// The first rows that fit the byte budget (always at least one).
    private func cut(_ rows: [(row: Int64, entry: LogEntry)]) -> ArraySlice<(row: Int64, entry: LogEntry)> {
        guard let byteBudget else { return rows[...] }
        var bytes = 0
        for (index, row) in rows.enumerated() {
            bytes += Self.size(of: row.entry)
            if bytes > byteBudget { return rows[..<max(index, 1)] }
        }
        return rows[...]
    }

    /// The bytes of a record as a plugin receives it: its message and every text field.
    static func size(of entry: LogEntry) -> Int {
        let context = entry.context
        var size = entry.message.utf8.count + entry.id.rawValue.utf8.count + entry.source.utf8.count
        size += context.component.utf8.count + context.module.utf8.count + context.function.utf8.count
        for text in [context.traceID, context.spanID, context.userID, context.requestID] { size += text?.utf8.count ?? 0 }
        for (key, value) in context.additionalFields { size += key.utf8.count + value.settingText.utf8.count }
        return size
    }
}
