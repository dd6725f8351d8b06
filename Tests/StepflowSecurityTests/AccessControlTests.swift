import Foundation
import StepflowCore
import StepflowSecurity
import StepflowTestSupport
import Testing

@Suite("Access control: tokens, roles and decisions")
struct AccessControlTests {
    /// `printf %s reader-token | sha256sum`, checked against coreutils below when it is installed.
    static let readerDigest = TokenDigest.hex("reader-token")

    func control(publicEndpoints: String = "metrics,health", environment: [String: String] = [:], file: String? = nil) throws -> AccessControl {
        var security = SecurityConfig()
        security.publicEndpoints = publicEndpoints
        security.tokens = [
            AccessTokenConfig(name: "grafana", role: .read, secret: .sha256(Self.readerDigest)),
            AccessTokenConfig(name: "agent", role: .write, secret: .environment("AGENT_TOKEN")),
        ]
        if let file { security.tokens.append(AccessTokenConfig(name: "ops", role: .admin, secret: .file(file))) }
        return try AccessControl(
            security: security, authToken: "legacy-admin", environment: environment.merging(["AGENT_TOKEN": "agent-token\n"]) { a, _ in a })
    }

    @Test("the digest is SHA-256 in lower-case hex, as sha256sum prints it")
    func digestMatchesSha256sum() async throws {
        #expect(TokenDigest.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(TokenDigest.bytes(hex: Self.readerDigest.uppercased()) == TokenDigest.digest("reader-token".utf8))
        #expect(TokenDigest.bytes(hex: "zz" + String(Self.readerDigest.dropFirst(2))) == nil)
        #expect(TokenDigest.bytes(hex: "abc") == nil)
    }

    @Test("roles include the ones below them: 401 without or with an unknown token, 403 when the role is too low")
    func decisions() throws {
        let tokenFile = Self.file("  ops-token \n")
        let access = try control(file: tokenFile)
        #expect(access.isEnabled)
        #expect(access.principals.map(\.name) == ["admin", "grafana", "agent", "ops"])

        let reader = "Bearer reader-token", writer = "Bearer agent-token", ops = "Bearer ops-token"
        #expect(access.decide(.role(.read), authorization: reader) == .allowed(Principal(name: "grafana", role: .read)))
        #expect(access.decide(.role(.write), authorization: reader)
            == .forbidden(principal: Principal(name: "grafana", role: .read), needed: .write))
        #expect(access.decide(.role(.write), authorization: writer) == .allowed(Principal(name: "agent", role: .write)))
        #expect(access.decide(.role(.admin), authorization: writer)
            == .forbidden(principal: Principal(name: "agent", role: .write), needed: .admin))
        #expect(access.decide(.role(.admin), authorization: ops) == .allowed(Principal(name: "ops", role: .admin)))
        #expect(access.decide(.role(.admin), authorization: "Bearer legacy-admin") == .allowed(Principal(name: "admin", role: .admin)))
        // The scheme is case-insensitive; the token is not.
        #expect(access.decide(.role(.read), authorization: "bEaReR reader-token") == .allowed(Principal(name: "grafana", role: .read)))
        guard case .unauthorized(let unknown, .unknown) = access.decide(.role(.read), authorization: "Bearer Reader-token") else {
            Issue.record("a wrong-case token was accepted")
            return
        }
        #expect(unknown.contains("not one this host knows"))
        guard case .unauthorized(let missing, .missing) = access.decide(.role(.write), authorization: nil) else {
            Issue.record("no credential was accepted")
            return
        }
        #expect(missing.contains("write role"))
        for odd in ["Bearer", "Bearer ", "Token reader-token", "Basic cmVhZGVyLXRva2Vu", "", String(repeating: "a", count: 10_000)] {
            #expect(access.decide(.role(.read), authorization: odd) != .allowed(Principal(name: "grafana", role: .read)), "\(odd.prefix(20))")
        }
        #expect(access.decide(.role(.read), authorization: "Bearer " + String(repeating: "x", count: 100_000))
            == .unauthorized(reason: "the token in the Authorization header is not one this host knows", failure: .unknown))
        // Basic, with the token as password, only where allowed (the dashboard).
        let basic = "Basic " + Data("anyone:reader-token".utf8).base64EncodedString()
        #expect(access.decide(.role(.read), authorization: basic, allowBasic: true) == .allowed(Principal(name: "grafana", role: .read)))
        #expect(access.decide(.role(.read), authorization: basic) != .allowed(Principal(name: "grafana", role: .read)))
    }

    @Test("/metrics and /health are open by default; security.public_endpoints closes them (read role then)")
    func publicEndpoints() throws {
        let open = try control()
        #expect(open.decide(.publicEndpoint(.metrics), authorization: nil) == .allowed(nil))
        #expect(open.decide(.publicEndpoint(.health), authorization: nil) == .allowed(nil))
        let closed = try control(publicEndpoints: "health")
        #expect(closed.decide(.publicEndpoint(.health), authorization: nil) == .allowed(nil))
        guard case .unauthorized = closed.decide(.publicEndpoint(.metrics), authorization: nil) else {
            Issue.record("a closed /metrics was served without a token")
            return
        }
        #expect(closed.decide(.publicEndpoint(.metrics), authorization: "Bearer reader-token") == .allowed(Principal(name: "grafana", role: .read)))
    }

    @Test("a verified client certificate's common name stands for its principal when no token is sent; a token decides when one is")
    func certificatePrincipals() throws {
        var security = SecurityConfig()
        security.clientCertificateRoles = "prometheus:read, deployer : admin"
        security.tokens = [AccessTokenConfig(name: "agent", role: .write, secret: .sha256(TokenDigest.hex("agent-token")))]
        let access = try AccessControl(security: security, authToken: "", environment: [:])
        #expect(access.isEnabled && access.acceptsClientCertificates)
        #expect(access.decide(.role(.read), authorization: nil, certificateName: "prometheus")
            == .allowed(Principal(name: "prometheus", role: .read)))
        #expect(access.decide(.role(.admin), authorization: nil, certificateName: "prometheus")
            == .forbidden(principal: Principal(name: "prometheus", role: .read), needed: .admin))
        #expect(access.decide(.role(.admin), authorization: nil, certificateName: "deployer")
            == .allowed(Principal(name: "deployer", role: .admin)))
        guard case .unauthorized(let reason, .unknown) = access.decide(.role(.read), authorization: nil, certificateName: "Prometheus") else {
            Issue.record("an unlisted common name (names are case-sensitive) was accepted")
            return
        }
        #expect(reason.contains("'Prometheus' has no role"))
        #expect(access.decide(.publicEndpoint(.health), authorization: nil, certificateName: "stranger") == .allowed(nil))
        #expect(access.decide(.role(.write), authorization: "Bearer agent-token", certificateName: "prometheus")
            == .allowed(Principal(name: "agent", role: .write)))
        #expect(security.clientCertificateRoleMap == ["prometheus": .read, "deployer": .admin])
        for bad in ["prometheus", "prometheus:owner", ":read", "a:read,,b"] {
            var config = SecurityConfig()
            config.clientCertificateRoles = bad
            #expect(config.clientCertificateRoleMap == nil, "\(bad)")
        }
    }

    @Test("with no token configured the host is open, as before roles existed")
    func noTokensMeansOpen() throws {
        let access = try AccessControl(security: SecurityConfig(), authToken: "", environment: [:])
        #expect(!access.isEnabled)
        #expect(access.decide(.role(.admin), authorization: nil) == .allowed(nil))
    }

    @Test("a token whose file or variable cannot be read stops the host, naming the token and the problem")
    func unreadableSecrets() throws {
        var security = SecurityConfig()
        security.tokens = [AccessTokenConfig(name: "ci", role: .write, secret: .environment("MISSING_TOKEN"))]
        #expect(throws: AccessControlError.self) { try AccessControl(security: security, authToken: "", environment: [:]) }
        do {
            _ = try AccessControl(security: security, authToken: "", environment: ["MISSING_TOKEN": "  "])
            Issue.record("an empty variable was accepted")
        } catch {
            #expect(error.description == "security.tokens 'ci': token_env names MISSING_TOKEN, which is not set or empty")
        }
        security.tokens = [AccessTokenConfig(name: "ci", role: .write, secret: .file(Scratch.root + "absent-\(UUID())"))]
        #expect(throws: AccessControlError.self) { try AccessControl(security: security, authToken: "", environment: [:]) }
        let large = Self.file(String(repeating: "t", count: AccessControl.maximumTokenFileSize + 1))
        security.tokens = [AccessTokenConfig(name: "ci", role: .write, secret: .file(large))]
        #expect(throws: AccessControlError.self) { try AccessControl(security: security, authToken: "", environment: [:]) }
        security.tokens = [AccessTokenConfig(name: "ci", role: .write, secret: .sha256("not hex"))]
        #expect(throws: AccessControlError.self) { try AccessControl(security: security, authToken: "", environment: [:]) }
    }

    @Test("the digest matches coreutils' sha256sum", .enabled(if: ExternalTool.runnable("sha256sum")))
    func coreutilsAgrees() async throws {
        let result = try await ChildProcess.runOffPool("/bin/sh", ["-c", "printf %s reader-token | sha256sum"])
        #expect(result.status == 0)
        #expect(result.output.hasPrefix(Self.readerDigest))
    }

    /// A scratch file holding `contents`.
    static func file(_ contents: String) -> String {
        let path = Scratch.root + "token-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(contents.utf8))
        return path
    }
}

@Suite("Rate limits and lockouts, on an injected clock")
struct AbuseGuardTests {
    @Test("a token bucket allows the burst, then one request per 1/rate, and says how long to wait")
    func tokenBucket() {
        let limiter = RateLimiter(rate: 2, burst: 3)
        let start = ContinuousClock.now
        for _ in 0..<3 { #expect(limiter.take("a", now: start) == nil) }
        let wait = limiter.take("a", now: start)
        #expect(wait == .milliseconds(500))
        // Another key has its own bucket.
        #expect(limiter.take("b", now: start) == nil)
        // Half a second later one token is back, not two.
        #expect(limiter.take("a", now: start + .milliseconds(500)) == nil)
        #expect(limiter.take("a", now: start + .milliseconds(500)) != nil)
        #expect(RateLimiter(rate: 0, burst: 1).take("a") == nil)
    }

    @Test("the bucket table stays bounded under a flood of new keys")
    func boundedKeys() {
        let limiter = RateLimiter(rate: 1, burst: 1, maximumKeys: 100)
        let start = ContinuousClock.now
        for index in 0..<10_000 { _ = limiter.take("client-\(index)", now: start + .milliseconds(Int64(index))) }
        // A key seen long ago was forgotten: it starts again with a full bucket.
        #expect(limiter.take("client-0", now: start + .seconds(20)) == nil)
    }

    @Test("after `limit` failures within the window an address is locked out for the lockout, then may try again")
    func lockout() {
        let guardian = AuthenticationFailureGuard(limit: 3, window: .seconds(60), lockout: .seconds(30))
        let start = ContinuousClock.now
        #expect(!guardian.recordFailure("10.0.0.1", now: start))
        #expect(!guardian.recordFailure("10.0.0.1", now: start + .seconds(1)))
        #expect(guardian.lockedOut("10.0.0.1", now: start + .seconds(1)) == nil)
        #expect(guardian.recordFailure("10.0.0.1", now: start + .seconds(2)))
        #expect(guardian.lockedOut("10.0.0.1", now: start + .seconds(3)) == .seconds(29))
        #expect(guardian.lockedOut("10.0.0.2", now: start + .seconds(3)) == nil)
        #expect(guardian.lockedOut("10.0.0.1", now: start + .seconds(33)) == nil)
        // Failures older than the window do not count.
        let other = AuthenticationFailureGuard(limit: 2, window: .seconds(10), lockout: .seconds(30))
        #expect(!other.recordFailure("a", now: start))
        #expect(!other.recordFailure("a", now: start + .seconds(11)))
    }
}

@Suite("Redaction of secrets")
struct RedactorTests {
    let redactor = Redactor()

    @Test("secret keys are masked at any depth; other fields keep their values")
    func fields() {
        let fields: [String: JSONValue] = [
            "user": "ana", "Password": "hunter2", "db": .object(["api_key": "k-123", "host": "db1"]),
            "headers": .array([.object(["Set-Cookie": "sid=1"])]), "count": .int(3),
        ]
        let out = redactor.redact(fields: fields)
        #expect(out["user"] == "ana")
        #expect(out["Password"] == .string(Redactor.mask))
        #expect(out["db"] == .object(["api_key": .string(Redactor.mask), "host": "db1"]))
        #expect(out["headers"] == .array([.object(["Set-Cookie": .string(Redactor.mask)])]))
        #expect(out["count"] == .int(3))
    }

    @Test("in text: the word after Bearer or Basic, key=value, key: value, JSON pairs; the rest stays as it was")
    func text() {
        #expect(redactor.redact("GET /x Authorization: Bearer abc.def ok") == "GET /x Authorization: [REDACTED] [REDACTED] ok")
        #expect(redactor.redact("basic dXNlcjpwYXNz sent") == "basic [REDACTED] sent")
        #expect(redactor.redact("login user=ana password=hunter2 done") == "login user=ana password=[REDACTED] done")
        #expect(redactor.redact("token: abc") == "token: [REDACTED]")
        #expect(redactor.redact(#"{"api_key":"k-1","n":1}"#) == #"{"api_key":[REDACTED],"n":1}"#)
        #expect(redactor.redact("/login?user=a&password=x&next=/") == "/login?user=a&password=[REDACTED]&next=/")
        #expect(redactor.redact("  nothing   here\n") == "  nothing   here\n")
        let values = Redactor(values: try! AnchoredRegex("AKIA[0-9A-Z]{16}"))
        #expect(values.redact("key AKIAABCDEFGHIJKLMNOP used") == "key [REDACTED] used")
    }
}
