/// The state of a job's circuit breaker.
///
/// Closed: calls run on the job's interval, with ``Backoff`` after failures. After `failureThreshold`
/// consecutive failures the breaker opens: no calls for the cool-down. Then it is half-open: one trial call;
/// success closes it, failure opens it again for another cool-down. The cool-down is never longer than
/// `max_backoff`, so an outage is retried, and visible, at a bounded period.
public enum BreakerState: String, Sendable, Hashable {
    case closed
    case open
    case halfOpen = "half-open"
}

/// Decides a job's breaker state and next delay from its consecutive failures.
public struct CircuitBreaker: Sendable, Hashable {
    /// Consecutive failures that open the breaker.
    public var failureThreshold: Int
    /// How long an open breaker waits before its trial call.
    public var cooldown: Duration
    /// The backoff used while the breaker is closed.
    public var backoff: Backoff

    public init(failureThreshold: Int, cooldown: Duration, backoff: Backoff) {
        self.failureThreshold = max(failureThreshold, 1)
        self.cooldown = min(cooldown, backoff.maxBackoff)
        self.backoff = backoff
    }

    /// The state after a call, given the failures since the last success.
    public func state(consecutiveFailures: Int) -> BreakerState {
        consecutiveFailures >= failureThreshold ? .open : .closed
    }

    /// The wait before the next call: the interval while healthy, capped doubling after failures, and the
    /// cool-down (never shorter than the interval) once the breaker is open.
    public func delay(interval: Duration, consecutiveFailures: Int) -> Duration {
        if consecutiveFailures >= failureThreshold { return max(cooldown, interval) }
        return backoff.delay(interval: interval, consecutiveFailures: consecutiveFailures)
    }
}
