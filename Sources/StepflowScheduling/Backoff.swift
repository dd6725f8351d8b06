/// The delay before a job's next call: its interval while it succeeds; after failures, the interval doubled
/// per further consecutive failure, capped at `maxBackoff` so an outage is never hidden for long.
public struct Backoff: Sendable, Hashable {
    public var maxBackoff: Duration

    public init(maxBackoff: Duration) {
        self.maxBackoff = maxBackoff
    }

    /// The delay after `consecutiveFailures` failures: 0 or 1 → `interval` (retry on the next tick),
    /// 2 → 2×, 3 → 4×, … never more than `max(interval, maxBackoff)`.
    public func delay(interval: Duration, consecutiveFailures: Int) -> Duration {
        let cap = max(interval, maxBackoff)
        guard consecutiveFailures > 1 else { return interval }
        var delay = interval
        for _ in 1..<consecutiveFailures {
            delay = delay * 2
            if delay >= cap { return cap }
        }
        return delay
    }
}
