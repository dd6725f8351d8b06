import AsyncHTTPClient
import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("http.auth_token", .serialized)
struct HTTPAuthTests {
    let logger = Logger(label: "http-auth-tests")
    let executable = buildProductsDirectory + "/stepflow-monitor"

    /// A GET over 127.0.0.1 with AsyncHTTPClient, which leaves a `WWW-Authenticate: Basic` challenge alone
    /// (FoundationNetworking's URLSession waits on it for credentials that never come).
    func plainGet(_ port: Int, _ path: String, authorization: String? = nil) async throws -> (status: Int, challenge: String?) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), response.headers.first(name: "WWW-Authenticate"))
    }

    /// A GET over 127.0.0.1 with an optional `Authorization` header.
    func get(_ port: Int, _ path: String, authorization: String? = nil) async throws -> (status: Int, body: String, challenge: String?) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "WWW-Authenticate"))
    }

    @Test("with a token, over a real socket: /api/ needs it, the CLI sends it, check-config hides it")
    func tokenGuardsTheAPI() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
              auth_token: "s3cret-token"
            plugins: []
            """)
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            // Route by route in HTTPAuthRouterTests; here, over a real socket, the CLI sending the token.
            let missing = try await get(port, "/api/v1/plugins")
            #expect(missing.status == 401)
            #expect(missing.challenge == "Bearer")
            #expect(try await plainGet(port, "/dashboard").challenge?.hasPrefix("Basic") == true)
            #expect(try await get(port, "/health/live").status == 200)

            let url = "http://127.0.0.1:\(port)"
            let listed = try await runProcess(executable, ["plugins", "list", "--config", path, "--url", url])
            #expect(listed.status == 0, "\(listed.output)")
            let refused = try await runProcess(executable, ["plugins", "list", "--url", url])
            #expect(refused.status != 0)
            #expect(refused.output.contains("401"), "\(refused.output)")
        }
        let shown = try await runProcess(executable, ["check-config", "--config", path])
        #expect(shown.status == 0, "\(shown.output)")
        // Only the digest: printf %s s3cret-token | sha256sum.
        #expect(shown.output.contains(#"auth_token: "<redacted sha256:"#))
        #expect(!shown.output.contains("s3cret-token"))
    }

    @Test("security.tokens over a real socket: the CLI sends a token from --token-file or STEPFLOW_CLI_TOKEN; roles hold")
    func cliSendsARoleToken() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let adminFile = try directory.write("admin.token", "admin-token\n")
        let readerFile = try directory.write("reader.token", "reader-token\n")
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            security:
              tokens:
                - {name: ops, role: admin, token_file: \(adminFile)}
                - {name: grafana, role: read, token_file: \(readerFile)}
            plugins: []
            """)
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            let url = "http://127.0.0.1:\(port)"
            let refused = try await runProcess(executable, ["plugins", "list", "--url", url])
            #expect(refused.status != 0)
            #expect(refused.output.contains("401"), "\(refused.output)")
            let listed = try await runProcess(executable, ["plugins", "list", "--url", url, "--token-file", readerFile])
            #expect(listed.status == 0, "\(listed.output)")
            // A plugin restart needs admin: the reader's token gets 403; the admin's (from the environment) reaches
            // the handler, which has no plugin of that name (404).
            let forbidden = try await runProcess(executable, ["plugins", "restart", "nosuch", "--url", url, "--token-file", readerFile])
            #expect(forbidden.status != 0)
            #expect(forbidden.output.contains("needs admin"), "\(forbidden.output)")
            let served = try await runProcess(
                executable, ["plugins", "restart", "nosuch", "--url", url], environment: ["STEPFLOW_CLI_TOKEN": "admin-token"])
            #expect(!served.output.contains("needs admin") && !served.output.contains("401"), "\(served.output)")
            #expect(served.output.contains("nosuch"), "\(served.output)")
        }
        let shown = try await runProcess(executable, ["check-config", "--config", path])
        #expect(shown.output.contains("token_file: \"\(adminFile)\""))
        #expect(!shown.output.contains("admin-token"))
    }
}
