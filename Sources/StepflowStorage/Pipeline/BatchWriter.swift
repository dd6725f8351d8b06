import Logging
import ServiceLifecycle
import StepflowCore
import Synchronization

/// The writer of the metrics pipeline: rows into `monitoring_metrics`, family notes into
/// `monitoring_metric_families`.
public typealias MetricsWriter = BatchWriter<MetricRow, MetricFamilyRow>

extension BatchWriter where Row == MetricRow, Note == MetricFamilyRow {
    /// The writer of `monitoring_metrics`, in transactions of at most the queue's batch size.
    public convenience init(queue: MetricsWriteQueue, store: MetricStore, flushInterval: Duration, logger: Logger) {
        self.init(queue: queue, name: "metrics", flushInterval: flushInterval, logger: logger) {
            (rows, notes) async throws(MonitoringError) in
            try await store.insert(rows, families: notes.map(\.note))
        }
    }
}

/// The single writer of one pipeline (metrics, logs, spans): it moves queued rows into the database in
/// transactions of at most the queue's batch size, every `flush_interval`, as soon as a full batch is waiting, or
/// at once when a caller waits for its rows to be committed. A batch that fails is put back in the queue, whole,
/// and retried with capped exponential backoff; one line is logged when writes start failing and one when they
/// succeed again. On graceful shutdown it writes everything still queued, and reports at error level what it
/// could not.
public final class BatchWriter<Row: Sendable, Note: Sendable>: Service, Sendable {
    private struct Counters {
        var written: UInt64 = 0
        var batches: UInt64 = 0
        var largestBatch = 0
        var failures: UInt64 = 0
        var totalWriteTime: Duration = .zero
        var lastError: String?
        var failedInARow: UInt64 = 0
    }

    /// Writes one batch in one transaction.
    public typealias Store = @Sendable ([Row], [(key: String, note: Note)]) async throws(MonitoringError) -> Void

    private let queue: WriteQueue<Row, Note>
    private let name: String
    private let store: Store
    private let flushInterval: Duration
    private let logger: Logger
    private let beforeFinalFlush: (@Sendable () -> Void)?
    private let afterWrite: (@Sendable (_ rows: Int, _ duration: Duration) -> Void)?
    private let counters = Mutex(Counters())

    /// - Parameters:
    ///   - name: the pipeline, for log lines ("metrics", "logs", "spans").
    ///   - beforeFinalFlush: called at graceful shutdown before the last flush, to queue what is still held
    ///     elsewhere (the trace engine's open spans).
    ///   - afterWrite: called with the row count and the transaction's duration after each batch is committed (log
    ///     alert rules run then; the host's self-monitoring counts it).
    ///   - store: writes one batch in one transaction.
    public init(
        queue: WriteQueue<Row, Note>, name: String, flushInterval: Duration, logger: Logger,
        beforeFinalFlush: (@Sendable () -> Void)? = nil, afterWrite: (@Sendable (_ rows: Int, _ duration: Duration) -> Void)? = nil,
        store: @escaping Store
    ) {
        self.afterWrite = afterWrite
        self.queue = queue
        self.name = name
        self.store = store
        self.flushInterval = flushInterval
        self.logger = logger
        self.beforeFinalFlush = beforeFinalFlush
    }

    /// Rows written since start.
    public var written: UInt64 { counters.withLock { $0.written } }
    /// The most rows committed in one transaction since start: at most the queue's batch size
    /// (`metrics.max_metrics_per_batch` for the metrics writer).
    public var largestBatch: Int { counters.withLock { $0.largestBatch } }
    /// Transactions that failed since start (their samples were put back in the queue).
    public var failures: UInt64 { counters.withLock { $0.failures } }
    /// Mean time of one batch transaction.
    public var averageWriteTime: Duration {
        counters.withLock { $0.batches == 0 ? .zero : $0.totalWriteTime / Int($0.batches) }
    }
    /// The last write error, if the last write failed.
    public var lastError: String? { counters.withLock { $0.lastError } }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = Duration.zero
            while !Task.isCancelled {
                if backoff > .zero {
                    // Storage refused the last batch: wait before the next try, doubling up to a cap, instead of
                    // retrying (and logging) in a tight loop.
                    try? await Task.sleep(for: backoff)
                } else {
                    // Idle until something is queued (no timer while there is nothing to write), then gather for
                    // up to one flush interval, or less when a whole batch is there.
                    await self.queue.waitForRows()
                    if Task.isCancelled { break }
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { try? await Task.sleep(for: self.flushInterval) }
                        group.addTask { await self.queue.waitForBatch() }
                        await group.next()
                        group.cancelAll()
                    }
                }
                backoff = await self.flush() ? .zero : Self.nextBackoff(after: backoff)
            }
        }
        beforeFinalFlush?()
        let pending = queue.depth
        _ = await flush()
        let left = queue.depth
        if left > 0 {
            logger.error(
                "\(name) writer stopped with rows it could not write; they are lost",
                metadata: ["lost": "\(left)", "error": "\(lastError ?? "unknown")"])
        } else {
            logger.info("\(name) writer stopped", metadata: ["flushed_at_shutdown": "\(pending)"])
        }
    }

    /// The wait after a failed write: 100 ms, doubling, at most 30 s.
    static func nextBackoff(after previous: Duration) -> Duration {
        previous == .zero ? .milliseconds(100) : min(previous * 2, .seconds(30))
    }

    /// Writes everything queued now, batch by batch; stops at the first failed batch (which is requeued).
    ///
    /// - Returns: whether everything was written (false after a failure).
    @discardableResult
    public func flush() async -> Bool {
        while true {
            let (batch, notes) = queue.drain(max: queue.batchSize)
            if batch.isEmpty && notes.isEmpty { return true }
            let clock = ContinuousClock()
            let start = clock.now
            do {
                try await store(batch, notes)
                let elapsed = start.duration(to: clock.now)
                let recovered = counters.withLock { counters -> UInt64? in
                    defer {
                        counters.written += UInt64(batch.count)
                        counters.batches += 1
                        counters.largestBatch = max(counters.largestBatch, batch.count)
                        counters.totalWriteTime += elapsed
                        counters.lastError = nil
                        counters.failedInARow = 0
                    }
                    return counters.lastError == nil ? nil : counters.failedInARow
                }
                queue.markCommitted(batch.count)
                if let recovered {
                    logger.notice(
                        "\(name) writes succeed again", metadata: ["failed_attempts": "\(recovered)", "queued": "\(queue.depth)"])
                }
                if !batch.isEmpty { afterWrite?(batch.count, elapsed) }
            } catch {
                queue.requeue(batch, notes: notes)
                // Cancelled by shutdown mid-write: the batch is back in the queue and the final flush writes it.
                if Task.isCancelled { return false }
                let first = counters.withLock { counters -> Bool in
                    defer {
                        counters.failures += 1
                        counters.failedInARow += 1
                        counters.lastError = "\(error)"
                    }
                    return counters.lastError == nil
                }
                queue.markWriteFailed("\(error)")
                // One line when writes start failing; the count and the recovery are logged when they succeed again.
                if first {
                    logger.error(
                        "cannot write \(name); they stay queued and are retried with backoff; ingest answers 503 meanwhile",
                        metadata: ["error": "\(error)", "queued": "\(queue.depth)"])
                }
                return false
            }
        }
    }
}
