import Logging
import ServiceLifecycle
import StepflowCore
import Synchronization

/// Delivers alert notifications to every channel, each channel on its own queue: a slow or failing channel holds
/// up only itself. A batch a channel fails to take is retried with capped exponential backoff until
/// `alerts.notification_timeout` has passed since its first attempt, then dropped, counted and logged.
public final class AlertNotifier: Service, Sendable {
    /// Per channel: notifications delivered, batches that failed for good, attempts that failed and were retried.
    public struct ChannelCounts: Sendable, Hashable {
        public var sent: UInt64 = 0
        public var failed: UInt64 = 0
        public var retries: UInt64 = 0
        public var lastError: String?
    }

    private struct State {
        var counts: [String: ChannelCounts] = [:]
        var pending = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public let channels: [any AlertChannel]
    private let timeout: Duration
    private let logger: Logger
    private let queues: [(stream: AsyncStream<[AlertNotification]>, continuation: AsyncStream<[AlertNotification]>.Continuation)]
    private let state = Mutex(State())

    /// - Parameters:
    ///   - timeout: how long one batch may take on one channel, retries included.
    public init(channels: [any AlertChannel], timeout: Duration, logger: Logger) {
        self.channels = channels
        self.timeout = timeout
        self.logger = logger
        queues = channels.map { _ in AsyncStream.makeStream(of: [AlertNotification].self, bufferingPolicy: .unbounded) }
        state.withLock { state in
            for channel in channels { state.counts[channel.name] = ChannelCounts() }
        }
    }

    /// The channels' counters, by name.
    public var counts: [String: ChannelCounts] { state.withLock { $0.counts } }

    /// Queues `notifications` for every channel; never waits.
    public func enqueue(_ notifications: [AlertNotification]) {
        guard !notifications.isEmpty, !channels.isEmpty else { return }
        state.withLock { $0.pending += channels.count }
        for queue in queues { queue.continuation.yield(notifications) }
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

    /// Delivers until graceful shutdown, then delivers what is still queued (each batch within its timeout).
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for (index, channel) in channels.enumerated() {
                let stream = queues[index].stream
                group.addTask {
                    for await batch in stream {
                        await self.deliver(batch, to: channel)
                        self.finished()
                    }
                }
            }
            await withGracefulShutdownHandler {
                await group.waitForAll()
            } onGracefulShutdown: {
                for queue in self.queues { queue.continuation.finish() }
            }
        }
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
                    state.withLock { $0.counts[channel.name, default: ChannelCounts()].failed += 1 }
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

    /// One attempt, cut off after `limit`.
    static func attempt(
        _ batch: [AlertNotification], channel: any AlertChannel, within limit: Duration
    ) async -> Result<Void, MonitoringError> {
        guard limit > .zero else { return .failure(.init(.networkError, "no time left within the notification timeout")) }
        return await withTaskGroup(of: Result<Void, MonitoringError>?.self) { group in
            group.addTask {
                do throws(MonitoringError) {
                    try await channel.send(batch)
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(.init(.networkError, "\(channel.name) did not answer within \(limit)"))
        }
    }
}
