import Foundation
import Logging
import StepflowCore
import StepflowSecurity
import StepflowStorage
import Synchronization

/// The queue between the log engine and its writer.
public typealias LogWriteQueue = WriteQueue<LogRow, Never>

/// The spec's `LogManager`: checks and stamps each entry, queues it for the batched writer, and answers queries,
/// statistics and exports from `monitoring_logs`.
///
/// Recording never touches SQLite. A message longer than `logs.max_log_size` bytes is cut there, marked
/// `… [truncated N bytes]`, and counted. Trace and span ids must be W3C hex ids (32 and 16 digits). An entry is
/// visible to queries once the writer has written it, within `logs.flush_interval`.
public final class LogEngine: LogManager, Sendable {
    private struct Counters {
        var accepted: UInt64 = 0
        var refused: UInt64 = 0
        var truncated: UInt64 = 0
        var byLevel: [LogLevel: UInt64] = [:]
    }

    /// What a batch came to.
    public struct RecordReport: Sendable {
        public var accepted: Int
        /// Each refused entry's position in the batch and why.
        public var refused: [(index: Int, reason: String)]
        /// Accepted entries the full queue had to drop.
        public var dropped: Int
    }

    private let queue: LogWriteQueue
    public let store: LogStore
    private let source: String
    private let maxMessageBytes: Int
    private let limits: LimitsConfig
    /// What removes secrets from entries before they are stored (`security.redact_*`).
    private let redactor: Redactor
    private let backpressureTimeout: Duration
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let counters = Mutex(Counters())
    private let listeners = Mutex<[@Sendable ([LogEntry]) -> Void]>([])

    /// - Parameters:
    ///   - source: stamped on entries that name none (`logs.source`).
    ///   - maxMessageBytes: `logs.max_log_size`.
    ///   - backpressureTimeout: how long `logBatch` waits for room in a full queue.
    ///   - limits: `limits:`; an entry past one is refused naming the field.
    public init(
        queue: LogWriteQueue, store: LogStore, source: String, maxMessageBytes: Int,
        backpressureTimeout: Duration = .seconds(5), limits: LimitsConfig = .default, redactor: Redactor = Redactor(),
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.redactor = redactor
        self.limits = limits
        self.queue = queue
        self.store = store
        self.source = source
        self.maxMessageBytes = max(maxMessageBytes, 64)
        self.backpressureTimeout = backpressureTimeout
        self.logger = logger
        self.now = now
    }

    /// Entries accepted, refused and truncated since start.
    public var counts: (accepted: UInt64, refused: UInt64, truncated: UInt64) {
        counters.withLock { ($0.accepted, $0.refused, $0.truncated) }
    }

    /// Entries accepted since start, by level.
    public var acceptedByLevel: [LogLevel: UInt64] { counters.withLock { $0.byLevel } }

    /// Entries dropped because the queue was full, and entries waiting to be written.
    public var queueCounts: (dropped: UInt64, depth: Int) { (queue.dropped, queue.depth) }

    /// Calls `listener` with every batch of accepted entries, as they are accepted (the alert engine evaluates
    /// log rules this way). It must return quickly.
    public func onAccepted(_ listener: @escaping @Sendable ([LogEntry]) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    // MARK: LogManager

    public func log(_ level: LogLevel, _ message: String, context: LogContext) async throws(MonitoringError) {
        try await logBatch([LogEntry(level: level, message: message, context: context, timestamp: now())])
    }

    /// Records the valid entries; throws naming the refused ones (the others were recorded) or the dropped ones.
    public func logBatch(_ entries: [LogEntry]) async throws(MonitoringError) {
        let report = await record(entries, waitingForRoom: true)
        if !report.refused.isEmpty {
            let reasons = report.refused.prefix(3).map { "#\($0.index): \($0.reason)" }.joined(separator: "; ")
            throw .invalidQuery(
                "\(report.refused.count) of \(entries.count) log entries refused (\(reasons)); "
                    + "the other \(report.accepted) were recorded")
        }
        if report.dropped > 0 {
            throw MonitoringError(
                .queueFull,
                "\(report.dropped) of \(entries.count) log entries were dropped: the write queue stayed full",
                hint: "the database is slower than the entries arrive; check storage health, or raise logs.max_queue_size")
        }
    }

    public func queryLogs(_ query: LogQuery) async throws(MonitoringError) -> [LogEntry] {
        try await store.query(query).entries
    }

    public func getLogStats(filter: LogFilter?) async throws(MonitoringError) -> LogStats {
        if let filter, let since = filter.since, let until = filter.until, since > until {
            throw .invalidQuery("the time range is inverted: since is after until", hint: "swap the two times")
        }
        return try await store.stats(filter)
    }

    public func cleanupLogs(retentionDays: Int) async throws(MonitoringError) {
        guard retentionDays > 0 else { return }
        _ = try await store.deleteEntries(olderThan: now().addingTimeInterval(-Double(retentionDays) * 86_400))
    }

    public func exportLogs(_ query: LogQuery, format: ExportFormat) async throws(MonitoringError) -> [UInt8] {
        let collected = Mutex<[UInt8]>([])
        _ = try await export(query, format: format) { chunk in collected.withLock { $0.append(contentsOf: chunk) } }
        return collected.withLock { $0 }
    }

    // MARK: Beyond the protocol

    /// A page of entries and the cursor of the next.
    public func queryPage(_ query: LogQuery) async throws(MonitoringError) -> LogPage {
        try await store.query(query)
    }

    /// Records entries without ever waiting (swift-log handlers, the host's own log): what the full queue cannot
    /// take is dropped and counted. Returns whether the entry was queued.
    @discardableResult
    public func submit(_ entry: LogEntry) -> Bool {
        switch prepare(entry) {
        case .success(let row):
            accept([row])
            return queue.enqueue([row]) == 0
        case .failure:
            return false
        }
    }

    /// Records a batch: each valid entry is queued (waiting for room when asked), each invalid one refused.
    public func record(_ entries: [LogEntry], waitingForRoom: Bool) async -> RecordReport {
        var rows: [LogRow] = []
        rows.reserveCapacity(entries.count)
        var refused: [(index: Int, reason: String)] = []
        for (index, entry) in entries.enumerated() {
            switch prepare(entry) {
            case .success(let row): rows.append(row)
            case .failure(let error): refused.append((index, error.message))
            }
        }
        accept(rows)
        let dropped =
            waitingForRoom
            ? await queue.enqueue(waitingForRoom: rows, timeout: backpressureTimeout) : queue.enqueue(rows)
        if dropped > 0 {
            logger.warning("log write queue is full; entries dropped", metadata: ["dropped": "\(dropped)"])
        }
        return RecordReport(accepted: rows.count, refused: refused, dropped: dropped)
    }

    /// Records a batch from the ingest API: each invalid entry is refused with a reason; the valid ones are
    /// queued all or none and acknowledged as `policy` says.
    public func ingest(_ entries: [LogEntry], policy: IngestPolicy) async -> (report: RecordReport, outcome: IngestOutcome) {
        var rows: [LogRow] = []
        rows.reserveCapacity(entries.count)
        var refused: [(index: Int, reason: String)] = []
        for (index, entry) in entries.enumerated() {
            switch prepare(entry) {
            case .success(let row): rows.append(row)
            case .failure(let error): refused.append((index, error.message))
            }
        }
        let outcome = await queue.ingest(rows, policy: policy)
        switch outcome {
        case .unavailable, .tooLarge, .nothing:
            return (RecordReport(accepted: 0, refused: refused, dropped: 0), outcome)
        case .stored, .queued, .pending:
            accept(rows)
            return (RecordReport(accepted: rows.count, refused: refused, dropped: 0), outcome)
        }
    }

    /// Writes every entry matching `query` (its limit ignored) to `sink` in `format`, a page of 1,000 entries at a
    /// time, so memory holds one page whatever the export's size. `progress` is told the entries written so far
    /// after each page. Returns how many entries were exported.
    @discardableResult
    public func export(
        _ query: LogQuery, format: ExportFormat, progress: (@Sendable (Int) -> Void)? = nil,
        to sink: (ArraySlice<UInt8>) async throws -> Void
    ) async throws(MonitoringError) -> Int {
        var chunks = try exportChunks(query, format: format).makeAsyncIterator()
        do {
            while let chunk = try await chunks.next() {
                try await sink(chunk.bytes[...])
                if chunk.entries > 0 { progress?(chunk.written) }
            }
        } catch let error as MonitoringError {
            throw error
        } catch {
            throw .init(.exportFailed, "the export stopped after \(chunks.written) entries: \(error)")
        }
        return chunks.written
    }

    /// The export of every entry matching `query` (its limit ignored) as a sequence of chunks in `format`: the
    /// header, one chunk per page of 1,000 entries, then the footer. Pull-based, so a slow reader (an HTTP client)
    /// holds the next page back instead of letting it pile up.
    public func exportChunks(_ query: LogQuery, format: ExportFormat) throws(MonitoringError) -> LogExportChunks {
        return try LogExportChunks(store: store, query: query, format: format)
    }

    // MARK: Checking entries

    private func accept(_ rows: [LogRow]) {
        guard !rows.isEmpty else { return }
        counters.withLock { counters in
            counters.accepted += UInt64(rows.count)
            for row in rows { counters.byLevel[row.entry.level, default: 0] += 1 }
        }
        let handlers = listeners.withLock { $0 }
        if !handlers.isEmpty {
            let entries = rows.map(\.entry)
            for handler in handlers { handler(entries) }
        }
    }

    private func prepare(_ entry: LogEntry) -> Result<LogRow, MonitoringError> {
        var entry = entry
        if let refusal = Self.refusal(of: entry, limits: limits) {
            counters.withLock { $0.refused += 1 }
            return .failure(refusal)
        }
        if let trace = entry.context.traceID, TraceID(hex: trace) == nil {
            counters.withLock { $0.refused += 1 }
            return .failure(.invalidQuery("trace_id '\(trace.prefix(64))' is not a W3C trace id (32 hex digits)"))
        }
        if let span = entry.context.spanID, SpanID(hex: span) == nil {
            counters.withLock { $0.refused += 1 }
            return .failure(.invalidQuery("span_id '\(span.prefix(64))' is not a W3C span id (16 hex digits)"))
        }
        if entry.source.isEmpty { entry.source = source }
        // Secrets out before anything is stored, counted or exported (docs/security.md, "Secrets").
        entry.message = redactor.redact(entry.message)
        entry.context.additionalFields = redactor.redact(fields: entry.context.additionalFields)
        entry.metadata = redactor.redact(fields: entry.metadata)
        let length = entry.message.utf8.count
        if length > maxMessageBytes {
            entry.message = Self.truncate(entry.message, to: maxMessageBytes)
            counters.withLock { $0.truncated += 1 }
        }
        let row = LogRow(entry)
        let fieldsSize = (row.context?.utf8.count ?? 0) + (row.metadata?.utf8.count ?? 0)
        if fieldsSize > limits.maxFieldsSize {
            counters.withLock { $0.refused += 1 }
            return .failure(.invalidQuery(
                "the entry's fields are \(fieldsSize) bytes of JSON, more than limits.max_fields_size (\(limits.maxFieldsSize))"))
        }
        return .success(row)
    }

    /// Why `entry` cannot be stored as it is: a time outside ``ValidTime`` or a name past `limits`.
    static func refusal(of entry: LogEntry, limits: LimitsConfig) -> MonitoringError? {
        guard ValidTime.contains(entry.timestamp) else {
            return .invalidQuery("timestamp \(entry.timestamp.timeIntervalSince1970) s is outside \(ValidTime.rangeText)")
        }
        let names = [
            ("component", entry.context.component), ("module", entry.context.module),
            ("function", entry.context.function), ("source", entry.source),
            ("user_id", entry.context.userID ?? ""), ("request_id", entry.context.requestID ?? ""),
        ]
        for (field, text) in names where text.utf8.count > limits.maxNameLength {
            return .invalidQuery(
                "\(field) is \(text.utf8.count) bytes long, more than limits.max_name_length (\(limits.maxNameLength))")
        }
        return nil
    }

    /// `message` cut to at most `limit` UTF-8 bytes, on a Unicode scalar boundary, ending in
    /// `… [truncated N bytes]` (N: the bytes cut).
    static func truncate(_ message: String, to limit: Int) -> String {
        let utf8 = Array(message.utf8)
        let total = utf8.count
        // The marker is longest when it names the whole length; leave room for that.
        let room = " … [truncated \(total) bytes]".utf8.count
        var cut = max(limit - room, 0)
        while cut > 0, cut < total, utf8[cut] & 0xC0 == 0x80 { cut -= 1 }  // not inside a multi-byte scalar
        return String(decoding: utf8[..<cut], as: UTF8.self) + " … [truncated \(total - cut) bytes]"
    }
}

/// One chunk of an export: its bytes, the entries in it, and the entries exported so far.
public struct LogExportChunk: Sendable {
    public let bytes: [UInt8]
    public let entries: Int
    public let written: Int
}

/// The chunks of a log export (see ``LogEngine/exportChunks(_:format:)``).
public struct LogExportChunks: AsyncSequence, Sendable {
    public typealias Element = LogExportChunk
    let store: LogStore
    let query: LogQuery
    let format: ExportFormat

    /// The export of every entry matching `query` (its limit and cursor ignored) from `store`, read in pages of
    /// 1,000 (the command-line export reads a database this way, without an engine).
    public init(store: LogStore, query: LogQuery, format: ExportFormat) throws(MonitoringError) {
        var page = query
        page.limit = 1000
        page.cursor = nil
        self.store = store
        self.query = try page.validated()
        self.format = format
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(store: store, query: query, encoder: LogExportEncoder(format: format))
    }

    public struct Iterator: AsyncIteratorProtocol {
        enum Stage { case header, pages, footer, done }
        let store: LogStore
        var query: LogQuery
        var encoder: LogExportEncoder
        var stage = Stage.header
        /// Entries exported so far.
        public private(set) var written = 0

        init(store: LogStore, query: LogQuery, encoder: LogExportEncoder) {
            self.store = store
            self.query = query
            self.encoder = encoder
        }

        public mutating func next() async throws -> LogExportChunk? {
            switch stage {
            case .header:
                stage = .pages
                return LogExportChunk(bytes: encoder.header(), entries: 0, written: 0)
            case .pages:
                let page = try await store.query(query)
                if let next = page.nextCursor {
                    query.cursor = next
                } else {
                    stage = .footer
                }
                written += page.entries.count
                return LogExportChunk(bytes: encoder.encode(page.entries), entries: page.entries.count, written: written)
            case .footer:
                stage = .done
                return LogExportChunk(bytes: encoder.footer(), entries: 0, written: written)
            case .done:
                return nil
            }
        }
    }
}
