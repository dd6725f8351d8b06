import StepflowCore
import Synchronization

/// The bounded in-memory queue between recording a sample and writing it: recording never waits for
/// SQLite, and memory never grows past `capacity` (samples past it are dropped and counted).
public final class MetricsWriteQueue: Sendable {
    private struct State {
        var items: [Metric] = []
        var head = 0
        var dropped: UInt64 = 0
        var enqueued: UInt64 = 0
        var waiter: CheckedContinuation<Void, Never>?

        var count: Int { items.count - head }
    }

    /// The most samples held at once.
    public let capacity: Int
    /// The queue depth that wakes the writer before its flush interval.
    public let batchSize: Int
    private let state = Mutex(State())

    public init(capacity: Int, batchSize: Int) {
        self.capacity = max(capacity, 1)
        self.batchSize = max(min(batchSize, capacity), 1)
    }

    /// Samples waiting to be written.
    public var depth: Int { state.withLock { $0.count } }
    /// Samples dropped because the queue was full, since start.
    public var dropped: UInt64 { state.withLock { $0.dropped } }
    /// Samples accepted into the queue, since start.
    public var enqueued: UInt64 { state.withLock { $0.enqueued } }

    /// Appends samples; returns how many were dropped because the queue was full.
    @discardableResult
    public func enqueue(_ metrics: [Metric]) -> Int {
        let (dropped, waiter) = state.withLock { state -> (Int, CheckedContinuation<Void, Never>?) in
            let room = capacity - state.count
            let accepted = min(room, metrics.count)
            if accepted == metrics.count {
                state.items.append(contentsOf: metrics)
            } else if accepted > 0 {
                state.items.append(contentsOf: metrics.prefix(accepted))
            }
            state.enqueued += UInt64(accepted)
            let dropped = metrics.count - accepted
            state.dropped += UInt64(dropped)
            var waiter: CheckedContinuation<Void, Never>?
            if state.count >= batchSize {
                waiter = state.waiter
                state.waiter = nil
            }
            return (dropped, waiter)
        }
        waiter?.resume()
        return dropped
    }

    /// Puts back a batch that could not be written, ahead of newer samples, within capacity.
    public func requeue(_ metrics: [Metric]) {
        state.withLock { state in
            let pending = Array(state.items[state.head...])
            let room = max(capacity - pending.count, 0)
            let kept = metrics.suffix(room)
            state.dropped += UInt64(metrics.count - kept.count)
            state.items = Array(kept) + pending
            state.head = 0
        }
    }

    /// Takes up to `max` of the oldest samples.
    public func drain(max: Int) -> [Metric] {
        state.withLock { state in
            let count = min(max, state.count)
            guard count > 0 else { return [] }
            let batch = Array(state.items[state.head..<(state.head + count)])
            state.head += count
            if state.head == state.items.count {
                state.items.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 4096 && state.head * 2 > state.items.count {
                state.items.removeFirst(state.head)
                state.head = 0
            }
            return batch
        }
    }

    /// Returns when at least `batchSize` samples are queued, or when the calling task is cancelled.
    public func waitForBatch() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.count >= batchSize || Task.isCancelled { return true }
                    state.waiter?.resume()
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
