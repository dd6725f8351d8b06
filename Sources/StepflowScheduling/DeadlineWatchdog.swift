import Synchronization

/// Cuts calls that outlive their deadline: one task for the whole scheduler, instead of a timer per call.
///
/// A call registers its deadline (``watch(until:onExpiry:)``) and removes it when it returns
/// (``unwatch(_:)``). The watchdog sleeps until the earliest deadline it knows of, and otherwise waits for a
/// registration. Calls return long before their deadline, so it wakes about once per deadline length rather
/// than once per call: a per-call timer, even cancelled, still fires, and on an idle host those wake-ups were
/// a measurable share of the process's CPU (see the README's footprint figures).
final class DeadlineWatchdog<C: Clock>: Sendable where C.Duration == Duration {
    private struct Watch {
        var deadline: C.Instant
        var onExpiry: @Sendable () -> Void
    }

    private struct State {
        var watches: [UInt64: Watch] = [:]
        var nextID: UInt64 = 0
        /// The deadline the watchdog sleeps until; `nil` while it waits for a registration.
        var sleepingUntil: C.Instant?
    }

    private let clock: C
    private let state = Mutex(State())
    private let signal = WakeSignal()

    init(clock: C) {
        self.clock = clock
    }

    /// Calls `onExpiry` once `deadline` has passed, unless ``unwatch(_:)`` came first.
    func watch(until deadline: C.Instant, onExpiry: @escaping @Sendable () -> Void) -> UInt64 {
        let (id, wake) = state.withLock { state -> (UInt64, Bool) in
            state.nextID &+= 1
            state.watches[state.nextID] = Watch(deadline: deadline, onExpiry: onExpiry)
            let wake = state.sleepingUntil.map { deadline < $0 } ?? true
            // Until the watchdog has gone back to sleep, further registrations need not wake it again.
            if wake { state.sleepingUntil = deadline }
            return (state.nextID, wake)
        }
        if wake { signal.fire() }
        return id
    }

    /// Forgets a deadline: the call returned in time.
    func unwatch(_ id: UInt64) {
        _ = state.withLock { $0.watches.removeValue(forKey: id) }
    }

    /// Runs until the calling task is cancelled.
    func run() async {
        while !Task.isCancelled {
            let now = clock.now
            let (expired, next) = state.withLock { state -> ([@Sendable () -> Void], C.Instant?) in
                var expired: [@Sendable () -> Void] = []
                for (id, watch) in state.watches where watch.deadline <= now {
                    expired.append(watch.onExpiry)
                    state.watches[id] = nil
                }
                let next = state.watches.values.map(\.deadline).min()
                state.sleepingUntil = next
                return (expired, next)
            }
            for onExpiry in expired { onExpiry() }
            if let next {
                do { try await signal.sleep(until: next, clock: clock) } catch { return }
            } else {
                await signal.wait()
            }
        }
    }
}
