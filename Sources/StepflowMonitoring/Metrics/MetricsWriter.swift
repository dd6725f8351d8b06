import Logging
import ServiceLifecycle
import StepflowCore
import StepflowStorage
import Synchronization

/// The single writer that moves queued rows into `monitoring_metrics`, in transactions of at most
/// `max_metrics_per_batch` samples, every `flush_interval` or as soon as a full batch is waiting.
/// On graceful shutdown it writes everything still queued before returning.
public final class MetricsWriter: Service, Sendable {
    private struct Counters {
        var written: UInt64 = 0
        var batches: UInt64 = 0
        var failures: UInt64 = 0
        var totalWriteTime: Duration = .zero
        var lastError: String?
    }

    private let queue: MetricsWriteQueue
    private let store: MetricStore
    private let flushInterval: Duration
    private let logger: Logger
    private let counters = Mutex(Counters())

    public init(queue: MetricsWriteQueue, store: MetricStore, flushInterval: Duration, logger: Logger) {
        self.queue = queue
        self.store = store
        self.flushInterval = flushInterval
        self.logger = logger
    }

    /// Samples written since start.
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
        let pending = queue.depth
        await flush()
        logger.info("metrics writer stopped", metadata: ["flushed_at_shutdown": "\(pending)", "still_queued": "\(queue.depth)"])
    }

    /// Writes everything queued now, batch by batch; stops at the first failed batch (which is requeued).
    public func flush() async {
        while true {
            let (batch, families) = queue.drain(max: queue.batchSize)
            if batch.isEmpty && families.isEmpty { return }
            let clock = ContinuousClock()
            let start = clock.now
            do {
                try await store.insert(batch, families: families)
                let elapsed = start.duration(to: clock.now)
                counters.withLock {
                    $0.written += UInt64(batch.count)
                    $0.batches += 1
                    $0.totalWriteTime += elapsed
                    $0.lastError = nil
                }
            } catch {
                queue.requeue(batch, families: families)
                // Cancelled by shutdown mid-write: the batch is back in the queue and the final flush writes it.
                if Task.isCancelled { return }
                counters.withLock {
                    $0.failures += 1
                    $0.lastError = "\(error)"
                }
                logger.error("cannot write metrics; they stay queued", metadata: ["error": "\(error)", "queued": "\(queue.depth)"])
                return
            }
        }
    }
}
