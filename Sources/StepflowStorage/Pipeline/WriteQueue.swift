import StepflowCore
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
        /// The depth at which queuing rows wakes ``writer``: the batch size, or 1 while the writer idles on an empty
        /// queue (``waitForRows()``).
        var wakeWriterAt = Int.max
        /// Producers waiting for room, oldest first.
        var roomWaiters: [(id: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
        var nextWaiter: UInt64 = 0
        /// Rows the writer has committed, counted in queue order: row number `n` (``enqueued`` when it was taken)
        /// is in the database once `committed >= n`, since rows leave in order and a failed batch goes back in
        /// front.
        var committed: UInt64 = 0
        /// Callers waiting for their rows to be committed.
        var commitWaiters: [(id: UInt64, through: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        /// Why the writer's last write failed, while it keeps failing.
        var writeFailure: String?
        /// Since when rows have waited without the writer committing any: set when the queue stops being empty,
        /// moved on by each commit, cleared when the queue is empty (``lag``).
        var waitingSince: ContinuousClock.Instant?

        var count: Int { items.count - head }
    }

    /// The most rows held at once.
    public let capacity: Int
    /// The queue depth that wakes the writer before its flush interval.
    public let batchSize: Int
    private let state = Mutex(State())
    /// What the timeouts of waiting producers and committers are measured on.
    private let clock: any Clock<Duration>
    /// Whether ``lag`` is kept: a clock reading when the queue stops being empty and at each commit.
    public let tracksLag: Bool

    /// The setting the capacity comes from (`metrics.max_queue_size`), named when a batch is refused for it.
    public let capacitySetting: String?

    /// - Parameters:
    ///   - clock: the clock timeouts run on (tests pass one they move by hand).
    ///   - tracksLag: keep ``lag`` (the profile's queue lag); off, ``lag`` is always zero. The P1 benchmark turns
    ///     it off to measure what it costs.
    ///   - capacitySetting: the configuration key the capacity comes from, for the refusal's message.
    public init(
        capacity: Int, batchSize: Int, clock: any Clock<Duration> = ContinuousClock(), tracksLag: Bool = true,
        capacitySetting: String? = nil
    ) {
        self.capacitySetting = capacitySetting
        self.capacity = max(capacity, 1)
        self.batchSize = max(min(batchSize, capacity), 1)
        self.clock = clock
        self.tracksLag = tracksLag
    }

    /// Rows waiting to be written.
    public var depth: Int { state.withLock { $0.count } }
    /// Rows dropped because the queue was full, since start.
    public var dropped: UInt64 { state.withLock { $0.dropped } }
    /// Rows accepted into the queue, since start.
    public var enqueued: UInt64 { state.withLock { $0.enqueued } }
    /// Rows the writer has committed, since start.
    public var committed: UInt64 { state.withLock { $0.committed } }
    /// Why the writer cannot write, while its writes fail; `nil` while storage takes writes.
    public var writeFailure: String? { state.withLock { $0.writeFailure } }
    /// Producers waiting for room now.
    public var waitingForRoom: Int { state.withLock { $0.roomWaiters.count } }
    /// How far the writer is behind: how long rows have been waiting since the queue stopped being empty or the
    /// writer last committed, whichever is later; zero while the queue is empty (or when ``tracksLag`` is off).
    public var lag: Duration {
        guard let since = state.withLock({ $0.count == 0 ? nil : $0.waitingSince }) else { return .zero }
        return max(.zero, since.duration(to: .now))
    }

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
        var rest = rows[...]
        var deadline: Deadline?  // from the first wait on: a queue with room costs no clock reading
        while true {
            let (taken, writer) = state.withLock { state in take(rest, into: &state) }
            writer?.resume()
            rest = rest.dropFirst(taken)
            if rest.isEmpty { return 0 }
            let waitUntil = deadline ?? Deadline(after: timeout, on: clock)
            deadline = waitUntil
            guard !waitUntil.hasPassed(), !Task.isCancelled else { break }
            await waitForRoom(until: waitUntil)
        }
        state.withLock { $0.dropped += UInt64(rest.count) }
        return rest.count
    }

    /// Appends all of `rows` or none, waiting up to `timeout` for room for the whole batch: what an
    /// acknowledged request needs, since a batch half queued cannot be retried without duplicates.
    ///
    /// - Returns: the number of the batch's last row, to wait on with ``waitUntilCommitted(through:timeout:)``;
    ///   `nil` when nothing was queued (no room in time, or the batch is larger than the queue).
    public func enqueueAll(_ rows: [Row], timeout: Duration) async -> UInt64? {
        guard rows.count <= capacity else { return nil }
        var deadline: Deadline?
        while true {
            let (through, writer) = state.withLock { state -> (UInt64?, CheckedContinuation<Void, Never>?) in
                guard capacity - state.count >= rows.count else { return (nil, nil) }
                let (_, writer) = take(rows[...], into: &state)
                return (state.enqueued, writer)
            }
            writer?.resume()
            if let through { return through }
            let waitUntil = deadline ?? Deadline(after: timeout, on: clock)
            deadline = waitUntil
            guard !waitUntil.hasPassed(), !Task.isCancelled else { return nil }
            await waitForRoom(for: rows.count, until: waitUntil)
        }
    }

    /// Waits until the queue has room for `count` rows, or `timeout` passes; returns whether it has. Nothing is
    /// reserved: a caller checks before doing work it could not undo (the metrics engine before it applies a
    /// batch to its series), then queues with ``enqueueAll(_:timeout:)``.
    public func waitForRoom(for count: Int, timeout: Duration) async -> Bool {
        guard count <= capacity else { return false }
        var deadline: Deadline?
        while true {
            if state.withLock({ capacity - $0.count >= count }) { return true }
            let waitUntil = deadline ?? Deadline(after: timeout, on: clock)
            deadline = waitUntil
            guard !waitUntil.hasPassed(), !Task.isCancelled else { return false }
            await waitForRoom(for: count, until: waitUntil)
        }
    }

    /// Waits until the rows up to number `through` are committed (wakes the writer at once instead of letting it
    /// wait for its flush interval), or until `timeout` passes. Concurrent callers share the writer's
    /// transactions: a group commit.
    ///
    /// - Returns: whether they were committed in time.
    public func waitUntilCommitted(through: UInt64, timeout: Duration) async -> Bool {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let deadline = Deadline(after: timeout, on: clock)
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                        let (immediate, writer) = self.state.withLock {
                            state -> (Bool?, CheckedContinuation<Void, Never>?) in
                            if state.committed >= through { return (true, nil) }
                            if Task.isCancelled { return (false, nil) }
                            state.commitWaiters.append((id, through, continuation))
                            defer { state.writer = nil }
                            return (nil, state.writer)
                        }
                        writer?.resume()
                        if let immediate { continuation.resume(returning: immediate) }
                    }
                } onCancel: {
                    self.removeCommitWaiter(id)?.resume(returning: false)
                }
            }
            group.addTask {
                await deadline.sleep()
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    @discardableResult
    private func removeCommitWaiter(_ id: UInt64) -> CheckedContinuation<Bool, Never>? {
        state.withLock { state in
            guard let index = state.commitWaiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.commitWaiters.remove(at: index).continuation
        }
    }

    /// The writer committed the `count` rows it last drained: wakes the callers whose rows are now stored, and
    /// clears ``writeFailure``.
    public func markCommitted(_ count: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.committed += UInt64(max(count, 0))
            state.writeFailure = nil
            if tracksLag { state.waitingSince = state.count == 0 ? nil : .now }
            let committed = state.committed
            let ready = state.commitWaiters.filter { $0.through <= committed }.map(\.continuation)
            state.commitWaiters.removeAll { $0.through <= committed }
            return ready
        }
        for waiter in ready { waiter.resume(returning: true) }
    }

    /// The writer's last write failed with `reason` (its rows are back in the queue).
    public func markWriteFailed(_ reason: String) {
        state.withLock { $0.writeFailure = reason }
    }

    /// Adds a note under `key` (replacing an earlier one); the writer stores it with the next batch.
    public func note(_ note: Note, key: String) {
        let idleWriter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.notes[key] = note
            guard state.wakeWriterAt == 1 else { return nil }
            defer { state.writer = nil }
            return state.writer
        }
        idleWriter?.resume()
    }

    /// Puts back a batch that could not be written, ahead of newer rows, whole: those rows were taken in (and
    /// perhaps acknowledged), so none is dropped, and the queue may hold up to one batch more than its capacity
    /// until they are written. Its notes go back where no newer note took their key.
    public func requeue(_ rows: [Row], notes: [(key: String, note: Note)] = []) {
        state.withLock { state in
            let pending = Array(state.items[state.head...])
            state.items = rows + pending
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
                // Caught up. Keep the storage of a few batches for the next rows, but not the peak of a burst:
                // a queue that once held max_queue_size rows would otherwise hold their memory for good.
                state.items.removeAll(keepingCapacity: state.items.capacity <= 4 * batchSize)
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
        await waitForWriterWork(wakeAt: batchSize)
    }

    /// Returns as soon as anything (a row or a note) is queued, or when the calling task is cancelled: an idle
    /// writer waits here, so that a host with nothing to write sets no timer at all.
    public func waitForRows() async {
        await waitForWriterWork(wakeAt: 1)
    }

    private func waitForWriterWork(wakeAt threshold: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.count >= threshold || Task.isCancelled { return true }
                    if threshold == 1 && !state.notes.isEmpty { return true }
                    // Someone waits for a commit: write what is queued now.
                    if state.count > 0 && !state.commitWaiters.isEmpty { return true }
                    state.writer?.resume()
                    state.writer = continuation
                    state.wakeWriterAt = threshold
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
        let taken = max(min(capacity - state.count, rows.count), 0)
        if taken > 0 {
            if state.count == 0, tracksLag { state.waitingSince = .now }
            state.items.append(contentsOf: rows.prefix(taken))
            state.enqueued += UInt64(taken)
        }
        var writer: CheckedContinuation<Void, Never>?
        if state.count >= state.wakeWriterAt || (taken < rows.count && state.count > 0) {
            writer = state.writer
            state.writer = nil
        }
        return (max(taken, 0), writer)
    }

    /// Waits until the writer drains a batch, `deadline` passes, or the task is cancelled.
    private func waitForRoom(for needed: Int = 1, until deadline: Deadline) async {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = self.state.withLock { state -> Bool in
                            if self.capacity - state.count >= needed || Task.isCancelled { return true }
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
            group.addTask { await deadline.sleep() }
            await group.next()
            group.cancelAll()
        }
    }
}

/// A point in time on some clock: whether it has passed, and a sleep until it (or until the task is cancelled).
private struct Deadline: Sendable {
    let hasPassed: @Sendable () -> Bool
    let sleep: @Sendable () async -> Void

    init<C: Clock>(after timeout: Duration, on clock: C) where C.Duration == Duration {
        let instant = clock.now.advanced(by: timeout)
        hasPassed = { clock.now >= instant }
        sleep = { try? await clock.sleep(until: instant, tolerance: nil) }
    }
}
