import Logging
import ServiceLifecycle
import StepflowCore
import Synchronization

/// Delivers alert notifications to every channel, each channel on its own queue: a slow or failing channel holds
/// up only itself. A batch a channel fails to take is retried with capped exponential backoff until
/// `alerts.notification_timeout` has passed since its first attempt, then dropped, counted and logged.
public final class AlertNotifier: Service, Sendable {
    /// Per channel: notifications delivered, notifications given up on, attempts that failed and were retried.
    public struct ChannelCounts: Sendable, Hashable {
        public var sent: UInt64 = 0
        public var failed: UInt64 = 0
        public var retries: UInt64 = 0
        public var lastError: String?
    }

    private struct Queue {
        let channel: any AlertChannel
        let continuation: AsyncStream<[AlertNotification]>.Continuation
        let delivery: Task<Void, Never>
    }

    private struct State {
        var queues: [String: Queue] = [:]
        var counts: [String: ChannelCounts] = [:]
        var pending = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let timeout: Duration
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameters:
    ///   - channels: the channels to start with (``add(_:)`` adds more, ``remove(_:)`` takes them away).
    ///   - timeout: how long one batch may take on one channel, retries included.
    public init(channels: [any AlertChannel], timeout: Duration, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
        for channel in channels { add(channel) }
    }

    /// The channels delivered to now, by name.
    public var channels: [String] { state.withLock { $0.queues.keys.sorted() } }

    /// The channels' counters, by name (removed channels keep theirs).
    public var counts: [String: ChannelCounts] { state.withLock { $0.counts } }

    /// Starts delivering to `channel` (replacing a channel of the same name, which finishes what it holds).
    public func add(_ channel: any AlertChannel) {
        let (stream, continuation) = AsyncStream.makeStream(of: [AlertNotification].self, bufferingPolicy: .unbounded)
        let delivery = Task {
            for await batch in stream {
                await self.deliver(batch, to: channel)
                self.finished()
            }
        }
        let replaced = state.withLock { state -> Queue? in
            if state.counts[channel.name] == nil { state.counts[channel.name] = ChannelCounts() }
            defer { state.queues[channel.name] = Queue(channel: channel, continuation: continuation, delivery: delivery) }
            return state.queues[channel.name]
        }
        replaced?.continuation.finish()
    }

    /// Stops delivering to the channel named `name` once it has delivered what it holds.
    public func remove(_ name: String) async {
        guard let queue = state.withLock({ $0.queues.removeValue(forKey: name) }) else { return }
        queue.continuation.finish()
        await queue.delivery.value
    }

    /// Queues `notifications` for every channel; never waits.
    ///
    /// The batches are handed to the queues under the lock that ``add(_:)`` and ``remove(_:)`` take, and a queue
    /// that was finished meanwhile does not count as pending: otherwise a channel replaced or removed between the
    /// count and the hand-over would leave ``flush()`` waiting for a batch nobody delivers.
    public func enqueue(_ notifications: [AlertNotification]) {
        guard !notifications.isEmpty else { return }
        state.withLock { state in
            for queue in state.queues.values {
                if case .terminated = queue.continuation.yield(notifications) { continue }
                state.pending += 1
            }
        }
    }

    /// Returns once everything queued so far has been delivered or given up on (for shutdown and tests).
    public func flush() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.pending == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Waits for graceful shutdown, then delivers what is still queued (each batch within its timeout).
    public func run() async throws {
        try? await gracefulShutdown()
        let queues = state.withLock { state -> [Queue] in
            defer { state.queues = [:] }
            return Array(state.queues.values)
        }
        for queue in queues { queue.continuation.finish() }
        for queue in queues { await queue.delivery.value }
    }

    private func finished() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.pending -= 1
            guard state.pending == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// One batch to one channel, retried with backoff (0.25 s doubling, at most 5 s) until the timeout.
    func deliver(_ batch: [AlertNotification], to channel: any AlertChannel) async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var delay = Duration.milliseconds(250)
        while true {
            let remaining = clock.now.duration(to: deadline)
            let outcome = await Self.attempt(batch, channel: channel, within: remaining)
            switch outcome {
            case .success:
                state.withLock { state in
                    state.counts[channel.name, default: ChannelCounts()].sent += UInt64(batch.count)
                    state.counts[channel.name, default: ChannelCounts()].lastError = nil
                }
                return
            case .failure(let error):
                let retry = clock.now.advanced(by: delay) < deadline
                state.withLock { state in
                    if retry { state.counts[channel.name, default: ChannelCounts()].retries += 1 }
                    state.counts[channel.name, default: ChannelCounts()].lastError = error.message
                }
                guard retry else {
                    state.withLock { $0.counts[channel.name, default: ChannelCounts()].failed += UInt64(batch.count) }
                    logger.error(
                        "alert notifications could not be delivered; they are dropped",
                        metadata: [
                            "channel": "\(channel.name)", "notifications": "\(batch.count)", "error": "\(error.message)",
                            "timeout": "\(timeout)",
                        ])
                    return
                }
                logger.warning(
                    "alert notification failed; retrying",
                    metadata: ["channel": "\(channel.name)", "error": "\(error.message)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// One attempt, cut off after `limit` even when the channel ignores cancellation: the send runs in a task
    /// of its own that is cancelled and left behind at the limit (a task group would wait for it).
    static func attempt(
        _ batch: [AlertNotification], channel: any AlertChannel, within limit: Duration
    ) async -> Result<Void, MonitoringError> {
        guard limit > .zero else { return .failure(.init(.networkError, "no time left within the notification timeout")) }
        let once = FirstResult<Result<Void, MonitoringError>>()
        let sending = Task {
            do throws(MonitoringError) {
                try await channel.send(batch)
                once.resume(.success(()))
            } catch {
                once.resume(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            once.resume(.failure(.init(.networkError, "\(channel.name) did not answer within \(limit)")))
        }
        let outcome = await once.value
        sending.cancel()
        timer.cancel()
        return outcome
    }
}

/// The first of several racing results: later ones are ignored.
final class FirstResult<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value, Never>?
    }

    private let state = Mutex(State())

    /// Sets the result unless one was set already.
    func resume(_ value: Value) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: value)
    }

    /// The first result, once there is one.
    var value: Value {
        get async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
                let ready = state.withLock { state -> Value? in
                    if state.value == nil { state.waiter = continuation }
                    return state.value
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

