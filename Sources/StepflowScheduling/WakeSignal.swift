import Synchronization

/// A signal that ends one waiter's wait early, and is remembered when nobody waits: a ``fire()`` between two
/// waits makes the next ``wait()`` return at once.
///
/// A job that decides its own next call (``ScheduledJob/wakeSignal``) fires it when new work arrives, so the
/// scheduler does not have to poll it on a short tick.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether a ``fire()`` is waiting for the next ``wait()``.
    public var isPending: Bool { state.withLock { $0.pending } }

    /// Ends the current wait, or the next one when nobody waits.
    public func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns once fired (at once when fired since the last wait), or when the calling task is cancelled.
    /// One waiter at a time: a second concurrent waiter replaces (and releases) the first.
    public func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (now, replaced) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return (true, nil)
                    }
                    defer { state.waiter = continuation }
                    return (false, state.waiter)
                }
                replaced?.resume()
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    /// Waits until `deadline` or until fired, whichever comes first.
    ///
    /// - Throws: `CancellationError` when the calling task is cancelled.
    public func sleep<C: Clock>(until deadline: C.Instant, clock: C) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(until: deadline, tolerance: nil) }
            group.addTask { await self.wait() }
            defer { group.cancelAll() }
            try await group.next()
        }
        try Task.checkCancellation()
    }
}
