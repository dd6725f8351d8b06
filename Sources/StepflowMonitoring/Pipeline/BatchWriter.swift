import Logging
import ServiceLifecycle
import StepflowCore
import StepflowStorage
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
/// transactions of at most the queue's batch size, every `flush_interval` or as soon as a full batch is waiting.
/// A batch that fails is put back in the queue and retried. On graceful shutdown it writes everything still queued
/// before returning.
public final class BatchWriter<Row: Sendable, Note: Sendable>: Service, Sendable {
    private struct Counters {
        var written: UInt64 = 0
        var batches: UInt64 = 0
        var failures: UInt64 = 0
        var totalWriteTime: Duration = .zero
        var lastError: String?
    }

    /// Writes one batch in one transaction.
    public typealias Store = @Sendable ([Row], [(key: String, note: Note)]) async throws(MonitoringError) -> Void

    private let queue: WriteQueue<Row, Note>
    private let name: String
    private let store: Store
    private let flushInterval: Duration
    private let logger: Logger
    private let beforeFinalFlush: (@Sendable () -> Void)?
    private let afterWrite: (@Sendable (Int) -> Void)?
    private let counters = Mutex(Counters())

    /// - Parameters:
    ///   - name: the pipeline, for log lines ("metrics", "logs", "spans").
    ///   - beforeFinalFlush: called at graceful shutdown before the last flush, to queue what is still held
    ///     elsewhere (the trace engine's open spans).
    ///   - afterWrite: called with the row count after each batch is committed (log alert rules run then).
    ///   - store: writes one batch in one transaction.
    public init(
        queue: WriteQueue<Row, Note>, name: String, flushInterval: Duration, logger: Logger,
        beforeFinalFlush: (@Sendable () -> Void)? = nil, afterWrite: (@Sendable (Int) -> Void)? = nil,
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
            while !Task.isCancelled {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await Task.sleep(for: self.flushInterval) }
                    group.addTask { await self.queue.waitForBatch() }
                    await group.next()
                    group.cancelAll()
                }
                await self.flush()
            }
        }
        beforeFinalFlush?()
        let pending = queue.depth
        await flush()
        logger.info(
            "\(name) writer stopped", metadata: ["flushed_at_shutdown": "\(pending)", "still_queued": "\(queue.depth)"])
    }

    /// Writes everything queued now, batch by batch; stops at the first failed batch (which is requeued).
    public func flush() async {
        while true {
            let (batch, notes) = queue.drain(max: queue.batchSize)
            if batch.isEmpty && notes.isEmpty { return }
            let clock = ContinuousClock()
            let start = clock.now
            do {
                try await store(batch, notes)
                let elapsed = start.duration(to: clock.now)
                counters.withLock {
                    $0.written += UInt64(batch.count)
                    $0.batches += 1
                    $0.totalWriteTime += elapsed
                    $0.lastError = nil
                }
                if !batch.isEmpty { afterWrite?(batch.count) }
            } catch {
                queue.requeue(batch, notes: notes)
                // Cancelled by shutdown mid-write: the batch is back in the queue and the final flush writes it.
                if Task.isCancelled { return }
                counters.withLock {
                    $0.failures += 1
                    $0.lastError = "\(error)"
                }
                logger.error(
                    "cannot write \(name); they stay queued", metadata: ["error": "\(error)", "queued": "\(queue.depth)"])
                return
            }
        }
    }
}
