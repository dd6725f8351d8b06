/// When a crashed `plugin-runner` is started again: capped exponential backoff.
///
/// After the n-th crash in a row the runner is restarted no sooner than `initialDelay × 2^(n-1)` later, capped
/// at `maxDelay`. A crash that comes more than `stableAfter` after the previous one starts the count again.
/// A runner killed for missing its deadline is restarted at the next call, without backoff.
public struct RunnerRestartPolicy: Sendable, Hashable {
    /// The delay after the first crash.
    public var initialDelay: Duration
    /// The longest delay.
    public var maxDelay: Duration
    /// How long without a crash resets the backoff.
    public var stableAfter: Duration

    /// 1 s doubling up to 60 s, reset after 5 minutes without a crash.
    public static let `default` = RunnerRestartPolicy(
        initialDelay: .seconds(1), maxDelay: .seconds(60), stableAfter: .seconds(300))

    public init(initialDelay: Duration, maxDelay: Duration, stableAfter: Duration) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.stableAfter = stableAfter
    }

    /// The delay before restarting after `consecutiveCrashes` (≥ 1) crashes in a row.
    public func delay(afterConsecutiveCrashes consecutiveCrashes: Int) -> Duration {
        var delay = initialDelay
        var step = 1
        while step < consecutiveCrashes, delay < maxDelay {
            delay *= 2
            step += 1
        }
        return min(delay, maxDelay)
    }
}
