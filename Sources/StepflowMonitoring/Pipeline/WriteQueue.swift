import StepflowCore
import StepflowStorage
import Synchronization

/// The queue between the metrics engine and its writer: rows of `monitoring_metrics`, plus the families whose
/// type or HELP changed.
public typealias MetricsWriteQueue = WriteQueue<MetricRow, MetricFamilyRow>

/// The bounded in-memory queue between recording something (a sample, a log entry, a span) and writing it:
/// recording never waits for SQLite, and memory never grows past `capacity` rows.
///
/// Two ways in: ``enqueue(_:)`` never waits and drops (and counts) what does not fit, for callers that must not
/// block (plugin collections, snapshots, log handlers); ``enqueue(waitingForRoom:timeout:)`` waits for the writer to
/// make room — backpressure — for callers of the spec's batch calls, and drops only what is still left when
/// `timeout` runs out.
///
/// Beside the rows, the queue carries notes keyed by name (the latest note per key wins), which the writer stores
/// with its next batch: the metrics pipeline notes the families whose type or HELP changed. `Never` for none.
public final class WriteQueue<Row: Sendable, Note: Sendable>: Sendable {
    private struct State {
        var items: [Row] = []
        var head = 0
        var dropped: UInt64 = 0
        var enqueued: UInt64 = 0
        /// Notes since the writer last took them.
        var notes: [String: Note] = [:]
        var writer: CheckedContinuation<Void, Never>?
        /// Producers waiting for room, oldest first.
        var roomWaiters: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter: UInt64 = 0

        var count: Int { items.count - head }
    }

    /// The most rows held at once.
    public let capacity: Int
    /// The queue depth that wakes the writer before its flush interval.
    public let batchSize: Int
    private let state = Mutex(State())

    public init(capacity: Int, batchSize: Int) {
        self.capacity = max(capacity, 1)
        self.batchSize = max(min(batchSize, capacity), 1)
    }

    /// Rows waiting to be written.
    public var depth: Int { state.withLock { $0.count } }
    /// Rows dropped because the queue was full, since start.
    public var dropped: UInt64 { state.withLock { $0.dropped } }
    /// Rows accepted into the queue, since start.
    public var enqueued: UInt64 { state.withLock { $0.enqueued } }

    /// Appends rows without waiting; returns how many were dropped because the queue was full.
    @discardableResult
    public func enqueue(_ rows: [Row]) -> Int {
        let (taken, writer) = state.withLock { state in take(rows[...], into: &state) }
        writer?.resume()
        let dropped = rows.count - taken
        if dropped > 0 { state.withLock { $0.dropped += UInt64(dropped) } }
        return dropped
    }

    /// Appends rows, waiting up to `timeout` for room when the queue is full.
    ///
    /// - Returns: how many rows were dropped because the writer did not make room in time (0 normally).
    @discardableResult
    public func enqueue(waitingForRoom rows: [Row], timeout: Duration) async -> Int {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var rest = rows[...]
        while true {
            let (taken, writer) = state.withLock { state in take(rest, into: &state) }
            writer?.resume()
            rest = rest.dropFirst(taken)
            if rest.isEmpty { return 0 }
            guard clock.now < deadline, !Task.isCancelled else { break }
            await waitForRoom(until: deadline, clock: clock)
        }
        state.withLock { $0.dropped += UInt64(rest.count) }
        return rest.count
    }

    /// Adds a note under `key` (replacing an earlier one); the writer stores it with the next batch.
    public func note(_ note: Note, key: String) {
        state.withLock { $0.notes[key] = note }
    }

    /// Puts back a batch that could not be written, ahead of newer rows, within capacity; its notes go back
    /// where no newer note took their key.
    public func requeue(_ rows: [Row], notes: [(key: String, note: Note)] = []) {
        state.withLock { state in
            let pending = Array(state.items[state.head...])
            let room = max(capacity - pending.count, 0)
            let kept = rows.suffix(room)
            state.dropped += UInt64(rows.count - kept.count)
            state.items = Array(kept) + pending
            state.head = 0
            for (key, note) in notes where state.notes[key] == nil { state.notes[key] = note }
        }
    }

    /// Takes up to `max` of the oldest rows, and the notes added since the last call.
    public func drain(max: Int) -> (rows: [Row], notes: [(key: String, note: Note)]) {
        let (batch, notes, waiters) = state.withLock { state in
            let count = min(max, state.count)
            let notes = state.notes.map { (key: $0.key, note: $0.value) }
            state.notes.removeAll()
            guard count > 0 else { return ([Row](), notes, [CheckedContinuation<Void, Never>]()) }
            let batch = Array(state.items[state.head..<(state.head + count)])
            state.head += count
            if state.head == state.items.count {
                state.items.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 4096 && state.head * 2 > state.items.count {
                state.items.removeFirst(state.head)
                state.head = 0
            }
            let waiters = state.roomWaiters.map(\.continuation)
            state.roomWaiters.removeAll()
            return (batch, notes, waiters)
        }
        for waiter in waiters { waiter.resume() }
        return (batch, notes)
    }

    /// Returns when at least `batchSize` rows are queued, or when the calling task is cancelled.
    public func waitForBatch() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.count >= batchSize || Task.isCancelled { return true }
                    state.writer?.resume()
                    state.writer = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.writer = nil }
                return state.writer
            }
            waiter?.resume()
        }
    }

    /// Moves as many of `rows` as fit; returns how many, and the writer to wake when a batch is ready.
    private func take(_ rows: ArraySlice<Row>, into state: inout State) -> (Int, CheckedContinuation<Void, Never>?) {
        let taken = min(capacity - state.count, rows.count)
        if taken > 0 {
            state.items.append(contentsOf: rows.prefix(taken))
            state.enqueued += UInt64(taken)
        }
        var writer: CheckedContinuation<Void, Never>?
        if state.count >= batchSize || (taken < rows.count && state.count > 0) {
            writer = state.writer
            state.writer = nil
        }
        return (max(taken, 0), writer)
    }

    /// Waits until the writer drains a batch, `deadline` passes, or the task is cancelled.
    private func waitForRoom(until deadline: ContinuousClock.Instant, clock: ContinuousClock) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = self.state.withLock { state -> Bool in
                            if state.count < self.capacity || Task.isCancelled { return true }
                            state.roomWaiters.append((id, continuation))
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                        guard let index = state.roomWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                        return state.roomWaiters.remove(at: index).continuation
                    }
                    waiter?.resume()
                }
            }
            group.addTask { try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }
}
