import Synchronization

/// Token buckets by key (a principal, or a client address when anonymous): each key may make `burst` requests at
/// once and `rate` per second after that; a request that finds its bucket empty is told how long to wait.
///
/// At most `maximumKeys` buckets are kept; past that, the buckets that have refilled completely (whose keys are
/// idle) are dropped first, then the oldest, so that a flood of new client addresses cannot grow memory.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    /// Requests per second per key, after the burst; 0 turns the limiter off.
    public let rate: Double
    /// Requests a key may make at once.
    public let burst: Double
    /// The most keys tracked at once.
    public let maximumKeys: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(rate: Double, burst: Int, maximumKeys: Int = 10_000) {
        self.rate = max(0, rate)
        self.burst = Double(max(1, burst))
        self.maximumKeys = max(1, maximumKeys)
    }

    /// Whether limiting is on.
    public var isEnabled: Bool { rate > 0 }

    /// Takes one token for `key`: `nil` when the request may go on, else how long until a token is back.
    public func take(_ key: String, now: ContinuousClock.Instant = .now) -> Duration? {
        guard isEnabled else { return nil }
        return buckets.withLock { buckets -> Duration? in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = max(0, Double((now - bucket.updated).components.seconds)
                + Double((now - bucket.updated).components.attoseconds) / 1e18)
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.updated = now
            defer {
                if buckets[key] == nil, buckets.count >= maximumKeys { evict(&buckets, now: now) }
                buckets[key] = bucket
            }
            guard bucket.tokens >= 1 else {
                let milliseconds = min(((1 - bucket.tokens) / rate * 1000).rounded(.up), 86_400_000)
                return .milliseconds(Int64(milliseconds))  // range: 0 < tokens deficit <= 1, capped at a day above
            }
            bucket.tokens -= 1
            return nil
        }
    }

    /// Makes room for one more key: drops the buckets that have refilled completely (idle keys), and when none
    /// has, the least recently used one.
    private func evict(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        let full = buckets.filter { _, bucket in
            let idle = now - bucket.updated
            return bucket.tokens + Double(idle.components.seconds) * rate >= burst
        }.map(\.key)
        for key in full { buckets.removeValue(forKey: key) }
        if buckets.count >= maximumKeys, let oldest = buckets.min(by: { $0.value.updated < $1.value.updated })?.key {
            buckets.removeValue(forKey: oldest)
        }
    }
}

/// Slows down guessing: after `limit` authentication failures from one client address within `window`, that
/// address is refused (429) for `lockout` before its credentials are even looked at.
public final class AuthenticationFailureGuard: Sendable {
    private struct Record {
        var failures: [ContinuousClock.Instant] = []
        var lockedUntil: ContinuousClock.Instant?
    }

    public let limit: Int
    public let window: Duration
    public let lockout: Duration
    public let maximumAddresses: Int
    private let records = Mutex<[String: Record]>([:])

    /// - Parameter limit: failures within `window` that lock an address out; 0 turns the guard off.
    public init(limit: Int, window: Duration = .seconds(60), lockout: Duration, maximumAddresses: Int = 10_000) {
        self.limit = max(0, limit)
        self.window = window
        self.lockout = lockout
        self.maximumAddresses = max(1, maximumAddresses)
    }

    /// How long `address` stays refused, or `nil` when it may try.
    public func lockedOut(_ address: String, now: ContinuousClock.Instant = .now) -> Duration? {
        guard limit > 0 else { return nil }
        return records.withLock { records in
            guard let until = records[address]?.lockedUntil, until > now else { return nil }
            return now.duration(to: until)
        }
    }

    /// Records a failure from `address`; returns whether it has just been locked out.
    @discardableResult
    public func recordFailure(_ address: String, now: ContinuousClock.Instant = .now) -> Bool {
        guard limit > 0 else { return false }
        return records.withLock { records in
            if records[address] == nil, records.count >= maximumAddresses {
                // Forget the addresses with no recent failure and no lockout first, then any.
                let stale = records.filter { _, record in
                    (record.lockedUntil.map { $0 <= now } ?? true) && (record.failures.last.map { now - $0 > window } ?? true)
                }.map(\.key)
                for key in stale { records.removeValue(forKey: key) }
                if records.count >= maximumAddresses, let any = records.keys.first { records.removeValue(forKey: any) }
            }
            var record = records[address] ?? Record()
            record.failures = record.failures.filter { now - $0 < window } + [now]
            var locked = false
            if record.failures.count >= limit {
                record.lockedUntil = now + lockout
                record.failures.removeAll()
                locked = true
            }
            records[address] = record
            return locked
        }
    }
}
