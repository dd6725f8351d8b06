import StepflowCore
import StepflowSecurity
import Synchronization

/// The abuse limits of the HTTP API (docs/security.md, "Abuse limits"), shared by every route and kept for the
/// life of the host (so a reload does not reset them), with the counters `/metrics` shows.
public final class RequestLimits: Sendable {
    /// Token buckets per principal (or client address) on write routes (`security.rate_limit`).
    public let rate: RateLimiter
    /// Lockout after repeated authentication failures from one address (`security.auth_failure_limit`).
    public let failures: AuthenticationFailureGuard
    /// Requests handled at once, `/metrics` and `/health` not counted (`http.max_concurrent_requests`).
    public let maxConcurrentRequests: Int
    /// The largest body of a request that is not ingest (`http.max_control_body_size`).
    public let maxControlBodySize: Int

    private let inFlight = Atomic<Int>(0)
    private let counters = Mutex(Counters())

    private struct Counters {
        var rateLimited: [RouteAndPrincipal: UInt64] = [:]
        var authFailures: [AuthenticationFailure: UInt64] = [:]
        var overloaded: UInt64 = 0
    }

    /// A route and a principal (or `anonymous`), the labels of `stepflow_http_rate_limited_total`.
    public struct RouteAndPrincipal: Sendable, Hashable {
        public var route: String
        public var principal: String
    }

    public init(security: SecurityConfig, http: HTTPConfig) {
        rate = RateLimiter(rate: security.rateLimit, burst: security.rateLimitBurst)
        failures = AuthenticationFailureGuard(limit: security.authFailureLimit, lockout: security.authLockout)
        maxConcurrentRequests = http.maxConcurrentRequests
        maxControlBodySize = http.maxControlBodySize
    }

    /// Takes a slot for one request; `false` when `maxConcurrentRequests` are already being handled (then nothing
    /// is taken).
    package func enter() -> Bool {
        let now = inFlight.add(1, ordering: .relaxed).newValue
        guard now <= maxConcurrentRequests else {
            inFlight.subtract(1, ordering: .relaxed)
            counters.withLock { $0.overloaded += 1 }
            return false
        }
        return true
    }

    package func leave() {
        inFlight.subtract(1, ordering: .relaxed)
    }

    func countRateLimited(route: String, principal: String) {
        counters.withLock { $0.rateLimited[RouteAndPrincipal(route: route, principal: principal), default: 0] += 1 }
    }

    func countAuthFailure(_ failure: AuthenticationFailure) {
        counters.withLock { $0.authFailures[failure, default: 0] += 1 }
    }

    /// Requests refused with 429 by the rate limit, by route and principal.
    public var rateLimited: [RouteAndPrincipal: UInt64] { counters.withLock { $0.rateLimited } }
    /// Requests whose credentials were refused, by reason.
    public var authFailures: [AuthenticationFailure: UInt64] { counters.withLock { $0.authFailures } }
    /// Requests refused with 503 because `maxConcurrentRequests` were being handled.
    public var overloaded: UInt64 { counters.withLock { $0.overloaded } }
    /// Requests being handled now.
    public var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }
}
