import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StepflowConfig
import StepflowRuntime
import Testing

/// The token guard, route by route, through HummingbirdTesting's router mode: a real socket adds nothing to
/// what is checked here (`HTTPAuthTests` keeps the real-socket test, with the CLI sending the token).
@Suite("http.auth_token on every kind of route (router mode)")
struct HTTPAuthRouterTests {
    let logger = Logger(label: "http-auth-router-tests")

    /// A host with no listener of its own (`http.enabled: false`), run and stopped around `body`, which drives its
    /// HTTP application in router mode.
    func withRouter(_ directory: TemporaryDirectory, _ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        let runtime = try await runtime(directory)
        try await whileRunning(runtime, logger: logger) {
            try await runtime.makeHTTPApplication().test(.router, body)
        }
    }

    func runtime(_ directory: TemporaryDirectory) async throws -> MonitoringRuntime {
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              enabled: false
              auth_token: "s3cret-token"
            plugins: []
            """)
        return try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
    }

    func status(
        _ client: any TestClientProtocol, _ uri: String, authorization: String? = nil
    ) async throws -> (status: Int, body: String, challenge: String?) {
        var headers: HTTPFields = [:]
        if let authorization { headers[.authorization] = authorization }
        return try await client.execute(uri: uri, method: .get, headers: headers) { response in
            (Int(response.status.code), String(buffer: response.body), response.headers[.wwwAuthenticate])
        }
    }

    @Test("the API needs the bearer token (401 naming the problem); /metrics and /health stay open")
    func apiNeedsTheToken() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withRouter(directory) { client in
            let missing = try await status(client, "/api/v1/plugins")
            #expect(missing.status == 401)
            #expect(missing.challenge == "Bearer")
            #expect(missing.body.contains("needs a token with the read role"))
            #expect(missing.body.contains(#""required_role":"read""#))
            let wrong = try await status(client, "/api/v1/alerts", authorization: "Bearer s3cret-tokeN")
            #expect(wrong.status == 401)
            #expect(wrong.body.contains("not one this host knows"))
            #expect(try await status(client, "/api/v1/alerts", authorization: "Basic czNjcmV0LXRva2Vu").status == 401)
            #expect(try await status(client, "/api/v1/plugins", authorization: "Bearer s3cret-token").status == 200)
            #expect(try await status(client, "/metrics").status == 200)
            #expect(try await status(client, "/health/live").status == 200)
            // Empty path segments do not get around it.
            #expect(try await status(client, "//api/v1/plugins").status == 401)
        }
    }

    @Test("the dashboard takes the token as a Basic password (so a browser can ask for it) or as a bearer token")
    func dashboardTakesBasic() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withRouter(directory) { client in
            let page = try await status(client, "/dashboard")
            #expect(page.status == 401)
            #expect(page.challenge?.hasPrefix("Basic") == true)
            let basic = "Basic " + Data("admin:s3cret-token".utf8).base64EncodedString()
            #expect(try await status(client, "/dashboard", authorization: basic).status == 200)
            #expect(try await status(client, "/dashboard", authorization: "Bearer s3cret-token").status == 200)
            let wrongBasic = "Basic " + Data("admin:guess".utf8).base64EncodedString()
            #expect(try await status(client, "/dashboard", authorization: wrongBasic).status == 401)
            // A Basic password opens the dashboard only, not the API.
            #expect(try await status(client, "/api/v1/plugins", authorization: basic).status == 401)
            #expect(try await status(client, "/dashboard/").status == 401)
            let padded = "Basic " + Data(("admin:s3cret-token" + String(repeating: "\u{0}", count: 256)).utf8).base64EncodedString()
            #expect(try await status(client, "/dashboard", authorization: padded).status == 401)
        }
    }
}
