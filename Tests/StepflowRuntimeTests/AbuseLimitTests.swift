import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowSecurity
import StepflowServer
import Testing

/// The HTTP API's abuse limits, through the host's own router (docs/security.md, "Abuse limits").
@Suite("Abuse limits: rate limits, lockouts, body limits, concurrency")
struct AbuseLimitTests {
    let logger = Logger(label: "abuse-limit-tests")

    /// A host with one write token, `security` added to its `security:` section, its router driven by `body`.
    func withHost(_ security: String, _ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await StepflowRuntimeTests.withHost(directory, """
            http:
              enabled: false
              max_control_body_size: 1024
            security:
              tokens:
                - {name: agent, role: write, token_sha256: "\(TokenDigest.hex("writer-token"))"}
            \(security)
            plugins: []
            """, logger: logger) { runtime in
            try await runtime.makeHTTPApplication().test(.router, body)
        }
    }

    static func send(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil
    ) async throws -> (status: Int, body: String, retryAfter: String?) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            (Int($0.status.code), String(buffer: $0.body), $0.headers[.retryAfter])
        }
    }

    static let silence = #"{"matchers": "{alertname=\"Disk\"}", "duration": "1h", "created_by": "agent"}"#

    @Test("write requests past the burst get 429 with Retry-After, counted by route and principal; reads are not limited")
    func rateLimit() async throws {
        try await withHost("  rate_limit: 0.01\n  rate_limit_burst: 2") { client in
            #expect(try await Self.send(client, .post, "/api/v1/silences", token: "writer-token", body: Self.silence).status == 201)
            #expect(try await Self.send(client, .post, "/api/v1/silences", token: "writer-token", body: Self.silence).status == 201)
            let limited = try await Self.send(client, .post, "/api/v1/silences", token: "writer-token", body: Self.silence)
            #expect(limited.status == 429)
            #expect(limited.retryAfter.flatMap(Int.init).map { $0 >= 1 } == true, "\(String(describing: limited.retryAfter))")
            #expect(limited.body.contains("security.rate_limit"))
            for _ in 0..<5 { #expect(try await Self.send(client, .get, "/api/v1/silences", token: "writer-token").status == 200) }
            let metrics = try await Self.send(client, .get, "/metrics", token: nil).body
            #expect(metrics.contains(#"stepflow_http_rate_limited_total{principal="agent",route="/api/v1/silences"} 1"#), "\(metrics)")
        }
    }

    @Test("repeated failed authentications lock the address out (429), even for a good token, and are counted by reason")
    func lockout() async throws {
        try await withHost("  auth_failure_limit: 3\n  auth_lockout: 1h") { client in
            #expect(try await Self.send(client, .get, "/api/v1/alerts", token: nil).status == 401)
            #expect(try await Self.send(client, .get, "/api/v1/alerts", token: "guess-1").status == 401)
            #expect(try await Self.send(client, .get, "/api/v1/alerts", token: "guess-2").status == 401)
            let locked = try await Self.send(client, .get, "/api/v1/alerts", token: "writer-token")
            #expect(locked.status == 429)
            #expect(locked.retryAfter.flatMap(Int.init).map { $0 > 3000 } == true)
            // /metrics stays open (a public endpoint needs no credentials to look at).
            let metrics = try await Self.send(client, .get, "/metrics", token: nil).body
            #expect(metrics.contains(#"stepflow_http_auth_failures_total{reason="missing"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"stepflow_http_auth_failures_total{reason="unknown"} 2"#))
            #expect(metrics.contains(#"stepflow_http_auth_failures_total{reason="locked_out"} 1"#))
        }
    }

    @Test("a rule or silence body is limited to http.max_control_body_size; ingest to http.max_body_size")
    func bodyLimits() async throws {
        try await withHost("") { client in
            let padded = #"{"matchers": "{alertname=\"Disk\"}", "duration": "1h", "comment": ""# + String(repeating: "x", count: 2000) + #""}"#
            let refused = try await Self.send(client, .post, "/api/v1/silences", token: "writer-token", body: padded)
            #expect(refused.status == 413)
            #expect(refused.body.contains("http.max_control_body_size (1024 bytes)"))
            let logs = #"{"logs": [{"level": "info", "message": ""# + String(repeating: "y", count: 2000) + #""}]}"#
            #expect(try await Self.send(client, .post, "/api/v1/logs", token: "writer-token", body: logs).status == 200)
        }
    }

    @Test("past http.max_concurrent_requests a request is refused; /metrics and /health are not counted")
    func concurrency() {
        var http = HTTPConfig()
        http.maxConcurrentRequests = 2
        let limits = RequestLimits(security: SecurityConfig(), http: http)
        #expect(limits.enter() && limits.enter())
        #expect(!limits.enter())
        #expect(limits.overloaded == 1)
        limits.leave()
        #expect(limits.enter())
        #expect(limits.requestsInFlight == 2)
    }
}
