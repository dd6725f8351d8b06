import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import StepflowConfig
import StepflowCore
import StepflowSecurity

/// Where a running host's HTTP API is: `--url`, else `http.address` and `http.port` of the configuration.
struct HostOptions: ParsableArguments {
    @OptionGroup var config: ConfigOptions

    @Option(help: ArgumentHelp(
        "The host's HTTP API. Default: http.address and http.port of the configuration.", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp(
        "A file holding the bearer token to send (one of security.tokens). Default: STEPFLOW_CLI_TOKEN, else http.auth_token of the configuration.",
        valueName: "path"))
    var tokenFile: String?

    @Option(help: ArgumentHelp(
        "PEM CA certificates that sign the host's HTTPS certificate (http.tls). Default: the system's CAs.",
        valueName: "path"))
    var caFile: String?

    @Option(help: ArgumentHelp(
        "A PEM client certificate to present when the host asks for one (http.tls.client_ca); with --key.",
        valueName: "path"))
    var cert: String?

    @Option(help: ArgumentHelp("The PEM private key of --cert.", valueName: "path"))
    var key: String?

    /// The API's base URL, without a trailing slash, and the token to send (exits 2 when the configuration does
    /// not load or the token file cannot be read). The token is never a command-line argument: `ps` shows those.
    func endpoint() -> (base: String, token: String) {
        let base: String
        var configToken = ""
        if let url {
            base = url.hasSuffix("/") ? String(url.dropLast()) : url
            // The token may still come from the configuration (or STEPFLOW_MONITORING_HTTP_AUTH_TOKEN), if it loads.
            configToken = (try? ConfigurationLoader.load(path: config.path).configuration.http.authToken) ?? ""
        } else {
            do {
                let http = try ConfigurationLoader.load(path: config.path).configuration.http
                base = "\(http.tls.isEnabled ? "https" : "http")://\(http.address):\(http.port)"
                configToken = http.authToken
            } catch {
                fail("\(error.detailedDescription)", status: 2)
            }
        }
        if let tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile), data.count <= 4096,
                let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
                !text.isEmpty
            else {
                fail("--token-file \(tokenFile): cannot read a token from it (a file of at most 4096 bytes holding one token)", status: 2)
            }
            return (base, text)
        }
        if let token = ProcessInfo.processInfo.environment["STEPFLOW_CLI_TOKEN"], !token.isEmpty {
            return (base, token)
        }
        return (base, configToken)
    }

    /// The API's base URL, without a trailing slash.
    func baseURL() -> String { endpoint().base }

    /// The largest answer read: far more than any JSON the API answers these commands with.
    static let maxAnswerBytes = 64 << 20

    /// Sends a request and returns the status and body; exits 1, saying what to check, when the host cannot be
    /// reached. (AsyncHTTPClient, not URLSession: FoundationNetworking would bring libcurl into the host binary.)
    func request(_ method: String, _ path: String, body: Data? = nil) async -> (status: Int, body: Data) {
        let (base, token) = self.endpoint()
        var request = HTTPClientRequest(url: base + path)
        request.method = .init(rawValue: method)
        if !token.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        // A command line fails at once when nothing listens, instead of retrying the connection until the deadline
        // as a long-running client should.
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.tlsConfiguration = tlsConfiguration()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let result: Result<(Int, Data), any Error>
        do {
            let response = try await client.execute(request, timeout: .seconds(60))
            let answer = try await response.body.collect(upTo: Self.maxAnswerBytes)
            result = .success((Int(response.status.code), Data(answer.readableBytesView)))
        } catch {
            result = .failure(error)
        }
        try? await client.shutdown()
        switch result {
        case .success(let answer):
            return answer
        case .failure(let error):
            fail("stepflow-monitor: cannot reach the host at \(base + path): \(error)\n"
                + "Is `stepflow-monitor run` running with this configuration? Otherwise pass --url.")
        }
    }

    /// The client TLS configuration of `--ca-file`, `--cert` and `--key` (exits 2 when a file cannot be read).
    func tlsConfiguration() -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do throws(MonitoringError) {
            if let caFile { tls.trustRoots = .certificates(try PEMFiles.certificates(at: caFile, key: "--ca-file")) }
            if cert != nil || key != nil {
                guard let cert, let key else { fail("--cert and --key go together", status: 2) }
                tls.certificateChain = try PEMFiles.certificates(at: cert, key: "--cert").map { .certificate($0) }
                tls.privateKey = .privateKey(try PEMFiles.privateKey(at: key, key: "--key"))
            }
        } catch {
            fail("stepflow-monitor: \(error.message)", status: 2)
        }
        return tls
    }

    /// The `error` and `hint` of an API error body, as one line.
    static func errorText(_ body: Data) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let error = object["error"] as? String
        else { return String(decoding: body, as: UTF8.self) }
        return error + ((object["hint"] as? String).map { " (\($0))" } ?? "")
    }
}
