import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import StepflowAlerting
import StepflowCore
import StepflowSecurity
import StepflowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Certificates made with Debian's `openssl` for one test: certificate authorities, and certificates they sign.
struct TestPKI {
    let directory: TemporaryDirectory
    let openssl: String

    private func run(_ arguments: [String]) async throws {
        let result = try await runProcess(openssl, arguments)
        guard result.status == 0 else {
            throw CompileError(description: "openssl \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
    }

    /// A self-signed CA: `name.pem` and `name.key`.
    func authority(_ name: String) async throws {
        try await run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", directory.file(name + ".key"), "-out", directory.file(name + ".pem"), "-days", "2",
            "-subj", "/CN=\(name)",
        ])
    }

    /// A certificate for `commonName` signed by the CA `authority` (`name.pem`, `name.key`), valid for 127.0.0.1 and
    /// localhost, for `days` (-1: it expired before it was made).
    func certificate(_ name: String, commonName: String, signedBy authority: String, days: Int = 1) async throws {
        let extensions = try directory.write(name + ".ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        try await run([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", directory.file(name + ".key"), "-out", directory.file(name + ".csr"), "-subj", "/CN=\(commonName)",
        ])
        try await run([
            "x509", "-req", "-in", directory.file(name + ".csr"), "-CA", directory.file(authority + ".pem"),
            "-CAkey", directory.file(authority + ".key"), "-CAcreateserial", "-out", directory.file(name + ".pem"),
            "-days", "\(days)", "-extfile", extensions,
        ])
    }

    /// A host configuration on a fresh database in the directory, serving HTTPS on a free port with `server.pem`
    /// and `server.key` (and `ca.pem` as `client_ca` when `mutual`), with `security` lines appended.
    func hostConfig(mutual: Bool, security: String = "") throws -> String {
        try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
              tls:
                certificate: \(directory.file("server.pem"))
                private_key: \(directory.file("server.key"))
            \(mutual ? "    client_ca: " + directory.file("ca.pem") : "")
            \(security.isEmpty ? "" : "security:\n" + security)
            """)
    }

    /// Replaces the server's certificate files with `name`'s (what an operator does before SIGHUP).
    func install(_ name: String, as target: String) throws {
        for suffix in [".pem", ".key"] {
            let destination = directory.file(target + suffix)
            try? FileManager.default.removeItem(atPath: destination)
            try FileManager.default.copyItem(atPath: directory.file(name + suffix), toPath: destination)
        }
    }
}

/// `curl` against the host: its exit status, the HTTP status it got (0 when none) and what it printed (the body and
/// any error).
func curl(_ arguments: [String]) async throws -> (exit: Int32, status: Int, output: String) {
    let curl = try #require(ExternalTool.path("curl"))
    let result = try await runProcess(curl, ["-sS", "--max-time", "10", "-w", "\n%{http_code}"] + arguments)
    let status = Int(result.output.suffix(3)) ?? 0
    return (result.status, status, result.output)
}

@Suite("TLS: HTTPS for the server, client certificates, and verified outgoing HTTPS", .serialized)
struct TLSTests {
    @Test(
        "HTTPS with the configured certificate: the right CA is accepted, a wrong one and an expired certificate are refused; SIGHUP re-reads the files without closing the listener",
        .enabled(if: ExternalTool.runnable("openssl", "curl")))
    func serverCertificate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pki = TestPKI(directory: directory, openssl: try #require(ExternalTool.path("openssl")))
        try await pki.authority("ca")
        try await pki.authority("other-ca")
        try await pki.certificate("good", commonName: "localhost", signedBy: "ca")
        try await pki.certificate("expired", commonName: "localhost", signedBy: "ca", days: -1)
        try await pki.certificate("renewed", commonName: "localhost", signedBy: "other-ca")
        try pki.install("good", as: "server")
        let host = try HostProcess(configPath: try pki.hostConfig(mutual: false))
        let port = try await host.waitForPort()
        #expect(host.log.text.contains("https://127.0.0.1:\(port)"))
        let url = "https://127.0.0.1:\(port)/health/live"

        let good = try await curl(["--cacert", directory.file("ca.pem"), url])
        #expect(good.exit == 0 && good.status == 200, "\(good.output)")
        let wrongCA = try await curl(["--cacert", directory.file("other-ca.pem"), url])
        #expect(wrongCA.exit == 60 && wrongCA.status == 0, "a certificate from another CA must be refused: \(wrongCA.output)")
        let plain = try await curl(["http://127.0.0.1:\(port)/health/live"])
        #expect(plain.status != 200, "plain HTTP must not be served on the HTTPS port: \(plain.output)")
        // The command line speaks HTTPS to it, trusting the CA it is given, and refuses the wrong one.
        let cli = buildProductsDirectory + "/stepflow-monitor"
        let hostURL = "https://127.0.0.1:\(port)"
        let listed = try await runProcess(cli, ["plugins", "list", "--url", hostURL, "--ca-file", directory.file("ca.pem")])
        #expect(listed.status == 0, "\(listed.output)")
        let refused = try await runProcess(cli, ["plugins", "list", "--url", hostURL, "--ca-file", directory.file("other-ca.pem")])
        #expect(refused.status == 1 && refused.output.contains("cannot reach the host"), "\(refused.output)")

        // An expired certificate, installed and re-read on SIGHUP: clients refuse it, and the host says so.
        try pki.install("expired", as: "server")
        kill(host.process.processIdentifier, SIGHUP)
        #expect(await eventually { host.log.text.contains("the HTTPS certificate has expired") }, "\(host.log.text.suffix(2000))")
        let expired = try await curl(["--cacert", directory.file("ca.pem"), url])
        #expect(expired.exit == 60 && expired.output.contains("expired"), "\(expired.output)")

        // A renewed certificate (another CA): new connections get it, on the same listener.
        try pki.install("renewed", as: "server")
        kill(host.process.processIdentifier, SIGHUP)
        #expect(await eventually {
            (try? await curl(["--cacert", directory.file("other-ca.pem"), url]))?.status == 200
        })
        #expect(try await curl(["--cacert", directory.file("ca.pem"), url]).exit == 60)

        // A reload that cannot read the key keeps the certificate in use.
        try "not a key".write(toFile: directory.file("server.key"), atomically: true, encoding: .utf8)
        kill(host.process.processIdentifier, SIGHUP)
        #expect(await eventually { host.log.text.contains("the HTTPS certificate was not re-read") }, "\(host.log.text.suffix(2000))")
        #expect(host.log.text.contains("http.tls.private_key"))
        let kept = try await curl(["--cacert", directory.file("other-ca.pem"), url])
        #expect(kept.status == 200, "\(kept.output)")
        #expect(host.process.isRunning)
    }

    @Test(
        "mutual TLS: no client certificate, or one from another CA, fails the handshake; a mapped common name is its principal and role",
        .enabled(if: ExternalTool.runnable("openssl", "curl")))
    func clientCertificates() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pki = TestPKI(directory: directory, openssl: try #require(ExternalTool.path("openssl")))
        try await pki.authority("ca")
        try await pki.authority("other-ca")
        try await pki.certificate("server", commonName: "localhost", signedBy: "ca")
        try await pki.certificate("prometheus", commonName: "prometheus", signedBy: "ca")
        try await pki.certificate("stranger", commonName: "stranger", signedBy: "ca")
        try await pki.certificate("outsider", commonName: "prometheus", signedBy: "other-ca")
        let host = try HostProcess(configPath: try pki.hostConfig(
            mutual: true, security: "  client_certificate_roles: \"prometheus:read\"\n  rate_limit: 0"))
        let port = try await host.waitForPort()
        #expect(host.log.text.contains("client_certificates=required"))
        let base = "https://127.0.0.1:\(port)"
        let trust = ["--cacert", directory.file("ca.pem")]
        func with(_ name: String) -> [String] {
            trust + ["--cert", directory.file(name + ".pem"), "--key", directory.file(name + ".key")]
        }

        let anonymous = try await curl(trust + [base + "/health/live"])
        #expect(anonymous.exit != 0 && anonymous.status == 0, "a client without a certificate must not get through: \(anonymous.output)")
        let outsider = try await curl(with("outsider") + [base + "/health/live"])
        #expect(outsider.exit != 0 && outsider.status == 0, "a certificate from another CA must be refused: \(outsider.output)")

        #expect(try await curl(with("prometheus") + [base + "/metrics"]).status == 200)
        #expect(try await curl(with("prometheus") + [base + "/api/v1/plugins"]).status == 200)
        // The principal is the certificate's common name.
        let reload = try await curl(with("prometheus") + ["-X", "POST", base + "/api/v1/admin/reload"])
        #expect(reload.status == 403 && reload.output.contains("'prometheus' has the read role"), "\(reload.output)")
        // A certificate the CA signed but whose name has no role reaches only what is public.
        #expect(try await curl(with("stranger") + [base + "/health/live"]).status == 200)
        let stranger = try await curl(with("stranger") + [base + "/api/v1/plugins"])
        #expect(stranger.status == 401 && stranger.output.contains("'stranger' has no role"), "\(stranger.output)")
    }

    @Test(
        "a real Prometheus scrapes /metrics over mutual TLS, as docs/security.md shows; without its certificate it cannot",
        .enabled(if: ExternalTool.runnable("openssl", "prometheus")))
    func prometheusOverMutualTLS() async throws {
        let prometheus = try #require(ExternalTool.path("prometheus"), "\(ExternalTool.missing("prometheus", package: "prometheus"))")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pki = TestPKI(directory: directory, openssl: try #require(ExternalTool.path("openssl")))
        try await pki.authority("ca")
        try await pki.certificate("server", commonName: "localhost", signedBy: "ca")
        try await pki.certificate("prometheus", commonName: "prometheus", signedBy: "ca")
        let host = try HostProcess(configPath: try pki.hostConfig(
            mutual: true, security: "  client_certificate_roles: \"prometheus:read\"\n  public_endpoints: \"\""))
        let hostPort = try await host.waitForPort()
        let prometheusPort = try freeTCPPort()
        let scrapeConfig = try directory.write("prometheus.yml", """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: stepflow
                scheme: https
                tls_config:
                  ca_file: \(directory.file("ca.pem"))
                  cert_file: \(directory.file("prometheus.pem"))
                  key_file: \(directory.file("prometheus.key"))
                static_configs:
                  - targets: ["127.0.0.1:\(hostPort)"]
              - job_name: no-certificate
                scheme: https
                tls_config:
                  ca_file: \(directory.file("ca.pem"))
                static_configs:
                  - targets: ["127.0.0.1:\(hostPort)"]
            """)
        let process = try startPrometheus(prometheus, config: scrapeConfig, directory: directory, port: prometheusPort)
        defer { stopServer(process) }
        #expect(await eventually(60) { await prometheusValue(prometheusPort, "up{job=\"stepflow\"}") == "1" })
        #expect(await eventually(30) { await prometheusValue(prometheusPort, "up{job=\"no-certificate\"}") == "0" })
        #expect(await eventually(30) { await prometheusValue(prometheusPort, "count(stepflow_job_runs_total{job=\"stepflow\"})") != nil })
    }

    @Test(
        "outgoing HTTPS is verified: the system CAs by default, a destination's ca_file, or nothing with insecure_skip_verify",
        .enabled(if: ExternalTool.runnable("openssl", "python3")))
    func outgoingVerification() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pki = TestPKI(directory: directory, openssl: try #require(ExternalTool.path("openssl")))
        try await pki.authority("ca")
        try await pki.authority("other-ca")
        try await pki.certificate("receiver", commonName: "localhost", signedBy: "ca")
        let port = try freeTCPPort()
        let bodies = directory.file("received.jsonl")
        let script = try directory.write("receiver.py", """
            import http.server, signal, ssl, sys
            # The test process blocks most signals and a child inherits that: let SIGTERM stop this one.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            class Receiver(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    with open(sys.argv[4], "ab") as f:
                        f.write(body + b"\\n")
                    self.send_response(200)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[2], sys.argv[3])
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.serve_forever()
            """)
        let receiver = try startServer(
            try #require(ExternalTool.path("python3")),
            [script, "\(port)", directory.file("receiver.pem"), directory.file("receiver.key"), bodies])
        defer { stopServer(receiver) }
        let url = "https://127.0.0.1:\(port)/hook"
        let alert = Alert(
            ruleID: .random(), name: "TLSCheck", severity: .warning, status: .firing, labels: [], activeSince: Date())
        func send(_ tls: OutgoingTLSConfig) async throws -> MonitoringError? {
            let channel = WebhookAlertChannel(
                url: url, timeout: .seconds(5), client: try OutgoingHTTPClients.client(for: tls, key: "alerts.webhook_tls"))
            do {
                try await channel.send([AlertNotification(event: .firing, alert: alert)])
                return nil
            } catch {
                return error
            }
        }
        var trusted = OutgoingTLSConfig()
        trusted.caFile = directory.file("ca.pem")
        // The receiver starts in the background: wait until it answers over the trusted CA.
        #expect(await eventually { (try? await send(trusted)) == .some(nil) }, "the receiver never answered over HTTPS")

        let byDefault = try await send(OutgoingTLSConfig())
        #expect(byDefault != nil, "a certificate from a CA the system does not trust must be refused by default")
        var wrong = OutgoingTLSConfig()
        wrong.caFile = directory.file("other-ca.pem")
        #expect(try await send(wrong) != nil, "a certificate from another CA must be refused")
        var skip = OutgoingTLSConfig()
        skip.insecureSkipVerify = true
        #expect(try await send(skip) == nil, "insecure_skip_verify accepts any certificate")
        let received = (try? String(contentsOfFile: bodies, encoding: .utf8)) ?? ""
        #expect(received.contains("TLSCheck"))

        var missing = OutgoingTLSConfig()
        missing.caFile = directory.file("absent.pem")
        #expect {
            _ = try OutgoingHTTPClients.client(for: missing, key: "alerts.webhook_tls")
        } throws: { error in
            "\(error)".contains("alerts.webhook_tls.ca_file") && "\(error)".contains("absent.pem")
        }
    }

    /// The HTTPS receiver of the outgoing tests: answers every POST 200 with an empty body and appends its path to
    /// the file given as its fourth argument.
    static let pathRecorder = """
        import http.server, signal, ssl, sys
        # The test process blocks most signals and a child inherits that: let SIGTERM stop this one.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        class Receiver(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with open(sys.argv[4], "a") as f:
                    f.write(self.path + "\\n")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        # The handshake in the handler's thread, not in accept(): a client that gives up on it blocks nobody.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.serve_forever()
        """

    @Test(
        "every outgoing destination's tls keys in YAML: ca_file trusts its CA, insecure_skip_verify any certificate, neither refuses",
        .enabled(if: ExternalTool.runnable("openssl", "python3")))
    func outgoingTLSKeys() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pki = TestPKI(directory: directory, openssl: try #require(ExternalTool.path("openssl")))
        try await pki.authority("ca")
        try await pki.certificate("receiver", commonName: "localhost", signedBy: "ca")
        let port = try freeTCPPort()
        let paths = directory.file("paths.txt")
        let script = try directory.write("recorder.py", Self.pathRecorder)
        let receiver = try startServer(
            try #require(ExternalTool.path("python3")),
            [script, "\(port)", directory.file("receiver.pem"), directory.file("receiver.key"), paths])
        defer { stopServer(receiver) }
        func received(_ prefix: String) -> Set<String> {
            let lines = ((try? String(contentsOfFile: paths, encoding: .utf8)) ?? "").split(separator: "\n")
            return Set(lines.filter { $0.hasPrefix("/\(prefix)/") }.map { String($0.dropFirst(prefix.count + 1)) })
        }
        let everyDestination: Set<String> = ["/hook", "/api/v2/alerts", "/write", "/_bulk", "/v1/logs"]
        let logger = Logger(label: "outgoing-tls-keys")

        for (prefix, tls) in [
            ("trusted", "{ca_file: \(directory.file("ca.pem"))}"), ("skipped", "{insecure_skip_verify: true}"), ("refused", "{}"),
        ] {
            let hostDirectory = try TemporaryDirectory()
            defer { hostDirectory.remove() }
            let base = "https://127.0.0.1:\(port)/\(prefix)"
            try await withHost(hostDirectory, """
                http:
                  port: 0
                plugins: []
                metrics:
                  enable_export: true
                  export_interval: 200ms
                  flush_interval: 50ms
                logs:
                  enable_export: true
                  export_interval: 200ms
                scheduler:
                  max_backoff: 200ms
                alerts:
                  notification_timeout: 2s
                  webhook_url: \(base)/hook
                  webhook_tls: \(tls)
                  alertmanager_url: \(base)
                  alertmanager_tls: \(tls)
                  rules:
                    - {name: TLSProbe, query: tls_probe, condition: {greater_than: 0}, for: 0s, evaluation_interval: 200ms}
                exporters:
                  prometheus:
                    enabled: true
                    endpoint: \(base)/write
                    tls: \(tls)
                  elasticsearch:
                    enabled: true
                    url: \(base)
                    timeout: 1s
                    tls: \(tls)
                  otlp:
                    enabled: true
                    endpoint: \(base)
                    timeout: 1s
                    traces: false
                    metrics: false
                    tls: \(tls)
                """, logger: logger) { runtime in
                let host = await runtime.boundAddress.waitForPort()
                func post() async {
                    _ = try? await httpSend(host, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "tls_probe", "type": "gauge", "value": 1}]}"#)
                    _ = try? await httpSend(host, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "tls probe"}]}"#)
                }
                if prefix == "refused" {
                    // Every destination tried and failed: the exporters' runs and both notification channels.
                    let jobs = ["exporter:prometheus", "exporter:elasticsearch:logs", "exporter:otlp:logs"]
                    #expect(await eventually(60) {
                        await post()
                        let counts = runtime.alerting.notifier.counts
                        return jobs.allSatisfy { (runtime.scheduler.status(of: $0)?.failures ?? 0) >= 1 }
                            && ["webhook", "alertmanager"].allSatisfy { (counts[$0]?.failed ?? 0) + (counts[$0]?.retries ?? 0) >= 1 }
                    }, "\(runtime.alerting.notifier.counts)")
                    #expect(received(prefix).isEmpty, "\(received(prefix))")
                } else {
                    #expect(await eventually(60) {
                        await post()
                        return received(prefix) == everyDestination
                    }, "\(prefix): \(received(prefix))")
                }
            }
        }
    }
}

