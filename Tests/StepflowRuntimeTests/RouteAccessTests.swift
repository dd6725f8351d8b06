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

/// The repository root, from this file's path.
private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Every route of the host's router, enumerated from the router itself: each has a declared requirement, and each
/// refuses an anonymous caller (401) and a caller whose role is too low (403), so that a route added without a
/// declaration, or left open, fails here (docs/security.md).
@Suite("Every route declares the role it needs and refuses callers below it")
struct RouteAccessTests {
    let logger = Logger(label: "route-access-tests")

    /// The callers tried on every route: anonymous, then one token per role.
    static let callers: [(name: String, role: AccessRole?, authorization: String?)] = [
        ("anonymous", nil, nil),
        ("reader", .read, "Bearer reader-token"),
        ("writer", .write, "Bearer writer-token"),
        ("admin", .admin, "Bearer admin-token"),
    ]

    func runtime(_ directory: TemporaryDirectory, publicEndpoints: String) async throws -> MonitoringRuntime {
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              enabled: false
            security:
              public_endpoints: "\(publicEndpoints)"
              # Every route is tried anonymously from one (unknown) address: no lockout here (AbuseLimitTests).
              auth_failure_limit: 0
              tokens:
                - {name: reader, role: read, token_sha256: "\(TokenDigest.hex("reader-token"))"}
                - {name: writer, role: write, token_env: WRITER_TOKEN}
                - {name: admin, role: admin, token_file: \(try directory.write("admin.token", "admin-token\n"))}
            plugins: []
            """)
        let environment = ["WRITER_TOKEN": "writer-token"]
        return try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: environment), environment: environment, logger: logger)
    }

    /// A concrete path for a registered one: each `{parameter}` becomes `x`.
    static func concrete(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("{") && $0.hasSuffix("}") ? "x" : String($0) }
            .joined(separator: "/")
    }

    @Test("every route of the router is declared, and each answers 401 / 403 / served by role", arguments: ["", "metrics,health"])
    func everyRouteIsGuarded(publicEndpoints: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runtime = try await runtime(directory, publicEndpoints: publicEndpoints)
        try await whileRunning(runtime, logger: logger) {
            let secured = runtime.makeHTTPRouter()
            let declared = secured.routes
            // The router's own list: a route registered around SecuredRouter would be missing from `declared`.
            let registered = Set(secured.hummingbirdRouter.routes.map { "\($0.method) \($0.path)" })
            let declaredKeys = Set(declared.map { "\($0.method) \(RouterPath($0.path))" })
            #expect(registered == declaredKeys, "routes without a declared requirement: \(registered.subtracting(declaredKeys))")
            #expect(declared.count >= 32 && registered.count == declared.count, "\(registered.count) routes on the router, \(declared.count) declared")

            let open = SecurityConfig.PublicEndpoint.allCases.filter { publicEndpoints.contains($0.rawValue) }
            try await Application(router: secured.hummingbirdRouter).test(.router) { client in
                for route in declared {
                    let needed: AccessRole?
                    switch route.requirement {
                    case .publicEndpoint(let group): needed = open.contains(group) ? nil : .read
                    case .role(let role): needed = role
                    }
                    for caller in Self.callers {
                        var headers: HTTPFields = [.contentType: "application/json"]
                        if let authorization = caller.authorization { headers[.authorization] = authorization }
                        let status = try await client.execute(
                            uri: Self.concrete(route.path), method: route.method, headers: headers,
                            body: route.method == .get ? nil : ByteBuffer(string: "{}")
                        ) { response in (Int(response.status.code), String(buffer: response.body)) }
                        let label = "\(route) as \(caller.name): \(status.0) \(status.1.prefix(200))"
                        guard let needed else {
                            #expect(status.0 != 401 && status.0 != 403, "\(label)")
                            continue
                        }
                        switch caller.role {
                        case nil:
                            #expect(status.0 == 401, "\(label)")
                            #expect(status.1.contains(#""required_role":"\#(needed.rawValue)""#), "\(label)")
                        case let role? where role < needed:
                            #expect(status.0 == 403, "\(label)")
                            #expect(status.1.contains("needs \(needed.rawValue)"), "\(label)")
                        default:
                            #expect(status.0 != 401 && status.0 != 403, "\(label)")
                        }
                    }
                }
            }
        }
    }

    /// Spellings of `path` that a lax router or a proxy might take for the same route.
    static func tricks(_ path: String) -> [String] {
        let inner = String(path.dropFirst())
        return [
            "/" + path, path.uppercased(), path + "/", "/./" + inner, "/x/../" + inner,
            path.replacingOccurrences(of: "/", with: "%2F"), "/" + inner.replacingOccurrences(of: "/", with: "%2f"),
            path + "%00", path + "%00.json", path + "?" + "'%20OR%201=1--", path + ";", path + "/.",
            path.replacingOccurrences(of: "v1", with: "v1%2F..%2Fv1"), path + "#", path + "%20",
        ]
    }

    @Test("path tricks, injection strings and odd headers never give an anonymous caller a protected route")
    func trickedPaths() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runtime = try await runtime(directory, publicEndpoints: "")
        try await whileRunning(runtime, logger: logger) {
            let secured = runtime.makeHTTPRouter()
            let routes = secured.routes
            try await Application(router: secured.hummingbirdRouter).test(.router) { client in
                for route in routes {
                    for uri in Self.tricks(Self.concrete(route.path)) + [Self.concrete(route.path).replacingOccurrences(of: "/x", with: "/'%20OR%20'1'='1")] {
                        var headers: HTTPFields = [.contentType: "application/json"]
                        // Credentials where they are not read, and an oversized header.
                        headers[.cookie] = "token=admin-token"
                        headers[.proxyAuthorization] = "Bearer admin-token"
                        headers[.userAgent] = String(repeating: "a", count: 64 * 1024)
                        let status = try await client.execute(
                            uri: uri + (uri.contains("?") ? "&" : "?") + "access_token=admin-token", method: route.method,
                            headers: headers, body: route.method == .get ? nil : ByteBuffer(string: "{}")
                        ) { Int($0.status.code) }
                        #expect(!(200..<300).contains(status) && status != 303, "\(route.method) \(uri): \(status)")
                    }
                }
            }
        }
    }

    /// Strings that break a query built by pasting text into SQL.
    static let injections = [
        "' OR '1'='1", "1; DROP TABLE monitoring_logs;--", "\" OR \"\"=\"", "x' UNION SELECT name FROM sqlite_master--",
        "%' OR 1=1 --", "1) OR (1=1", "\u{0}", "' ; DELETE FROM monitoring_metrics; --",
    ]

    /// Every query parameter a route of the API reads.
    static let parameters = [
        "component", "cursor", "format", "function", "id", "level", "match", "min_duration", "mode", "module", "name",
        "operation", "order", "prefix", "q", "regex", "request_id", "rule", "rule_id", "severity", "span_id", "state",
        "status", "trace_id", "type", "user_id", "since", "until", "start", "end", "limit", "step",
    ]

    @Test("SQL-injection strings in every query parameter of every GET route, as admin: no 5xx, and nothing stored is lost")
    func injectionStrings() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runtime = try await runtime(directory, publicEndpoints: "metrics,health")
        try await whileRunning(runtime, logger: logger) {
            let secured = runtime.makeHTTPRouter()
            let routes = secured.routes.filter { $0.method == .get }
            try await Application(router: secured.hummingbirdRouter).test(.router) { client in
                let admin: HTTPFields = [.authorization: "Bearer admin-token", .contentType: "application/json"]
                func count(_ uri: String) async throws -> Int {
                    try await client.execute(uri: uri, method: .get, headers: admin) { response in
                        ((try? jsonObject(String(buffer: response.body)))?["count"] as? Int) ?? -1
                    }
                }
                // Something stored to lose: a log line and a sample, committed before the attack.
                _ = try await client.execute(
                    uri: "/api/v1/logs", method: .post, headers: admin,
                    body: ByteBuffer(string: #"{"logs": [{"level": "info", "message": "keep me", "component": "victim"}]}"#)) { _ in }
                _ = try await client.execute(
                    uri: "/api/v1/metrics", method: .post, headers: admin,
                    body: ByteBuffer(string: #"{"metrics": [{"name": "victim_value", "type": "gauge", "value": 1}]}"#)) { _ in }
                let logsBefore = try await count("/api/v1/logs?component=victim")
                #expect(logsBefore == 1)
                for route in routes {
                    for injection in Self.injections {
                        let encoded = injection.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                        let query = Self.parameters.map { "\($0)=\(encoded)" }.joined(separator: "&")
                        let uri = Self.concrete(route.path).replacingOccurrences(of: "/x", with: "/" + encoded) + "?" + query
                        let status = try await client.execute(uri: uri, method: .get, headers: admin) { Int($0.status.code) }
                        #expect(status < 500, "\(route.method) \(uri): \(status)")
                    }
                }
                #expect(try await count("/api/v1/logs?component=victim") == logsBefore)
                #expect(try await count("/api/v1/metrics?name=victim_value") == 1)
            }
        }
    }

    @Test("docs/security.md lists every route with the role it needs")
    func everyRouteIsDocumented() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runtime = try await runtime(directory, publicEndpoints: "metrics,health")
        let reference = try String(contentsOfFile: repositoryRoot + "/docs/security.md", encoding: .utf8)
        try await whileRunning(runtime, logger: logger) {
            for route in runtime.makeHTTPRouter().routes {
                let row = "| `\(route.method)` | `\(route.path)` | \(route.requirement) |"
                #expect(reference.contains(row), "docs/security.md lacks the row: \(row)")
            }
        }
    }

    @Test("credentials in odd places are not taken: the query string, two Authorization headers, an empty bearer")
    func oddCredentials() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runtime = try await runtime(directory, publicEndpoints: "metrics,health")
        try await whileRunning(runtime, logger: logger) {
            try await Application(router: runtime.makeHTTPRouter().hummingbirdRouter).test(.router) { client in
                func status(_ uri: String, _ headers: HTTPFields = [:]) async throws -> Int {
                    try await client.execute(uri: uri, method: .get, headers: headers) { Int($0.status.code) }
                }
                let inQuery = try await status("/api/v1/alerts?access_token=admin-token")
                #expect(inQuery == 401)
                let asParameter = try await status("/api/v1/alerts?authorization=Bearer%20admin-token")
                #expect(asParameter == 401)
                // HTTPFields is a list: a dictionary literal with a repeated name sends the header twice.
                let twice = try await status("/api/v1/alerts", [.authorization: "Bearer admin-token", .authorization: "Bearer admin-token"])
                #expect(twice == 401)
                let mixed = try await status("/api/v1/alerts", [.authorization: "Bearer reader-token", .authorization: "Bearer admin-token"])
                #expect(mixed == 401)
                let empty = try await status("/api/v1/alerts", [.authorization: "Bearer "])
                #expect(empty == 401)
                let lowerCaseScheme = try await status("/api/v1/alerts", [.authorization: "bearer reader-token"])
                #expect(lowerCaseScheme == 200)
            }
        }
    }
}
