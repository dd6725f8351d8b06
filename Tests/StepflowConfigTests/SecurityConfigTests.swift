import StepflowConfig
import StepflowCore
import Testing

@Suite("security: tokens and public endpoints in the configuration")
struct SecurityConfigTests {
    static let digest = String(repeating: "ab", count: 32)

    @Test("tokens are read with their role and one source each; check-config shows digests, never tokens")
    func tokensRoundTrip() throws {
        let yaml = """
            http:
              auth_token: "legacy-secret"
            security:
              public_endpoints: "health"
              tokens:
                - name: grafana
                  role: read
                  token_sha256: "sha256:\(Self.digest.uppercased())"
                - name: agent
                  role: write
                  token_env: AGENT_TOKEN
                - name: ops@example
                  role: admin
                  token_file: /etc/stepflow/ops.token
            """
        let configuration = try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml", environment: [:])
        #expect(configuration.security.publicEndpointSet == [.health])
        #expect(configuration.security.tokens == [
            AccessTokenConfig(name: "grafana", role: .read, secret: .sha256(Self.digest)),
            AccessTokenConfig(name: "agent", role: .write, secret: .environment("AGENT_TOKEN")),
            AccessTokenConfig(name: "ops@example", role: .admin, secret: .file("/etc/stepflow/ops.token")),
        ])
        let rendered = ConfigurationLoader.render(configuration)
        #expect(!rendered.contains("legacy-secret"))
        // printf %s legacy-secret | sha256sum
        #expect(rendered.contains("sha256:"))
        let reread = try ConfigurationLoader.parse(yaml: rendered, file: "rendered.yaml", environment: [:])
        #expect(reread.security == configuration.security)
    }

    @Test("a bad token entry is refused with its line and key, and a reason")
    func badTokens() {
        let cases: [(String, String, String)] = [
            ("- {name: a, role: owner, token_env: X}", "security.tokens[0].role", "'read', 'write', 'admin'"),
            ("- {name: a, role: read}", "security.tokens[0]", "has no token"),
            ("- {name: a, role: read, token_env: X, token_file: /f}", "security.tokens[0]", "exactly one"),
            ("- {name: a, role: read, token_sha256: abc}", "security.tokens[0].token_sha256", "64 hex digits"),
            ("- {role: read, token_env: X}", "security.tokens[0]", "has no name"),
            ("- {name: 'a b', role: read, token_env: X}", "security.tokens[0].name", "letters, digits"),
            ("- {name: a, role: read, token_env: X, tokn: 1}", "security.tokens[0].tokn", "unknown key"),
            ("- {name: a, role: read, token_env: X}\n    - {name: a, role: admin, token_env: Y}", "security.tokens[1].name", "already used"),
            ("{name: a}", "security.tokens", "a list of tokens"),
        ]
        for (tokens, keyPath, phrase) in cases {
            let issues = parseIssues("security:\n  tokens:\n    " + tokens)
            #expect(issues.contains { $0.keyPath == keyPath && $0.message.contains(phrase) && $0.line != nil },
                    "\(tokens): \(issues)")
        }
        let endpoints = parseIssues("security:\n  public_endpoints: metrics,dashboard")
        #expect(endpoints.contains { $0.keyPath == "security.public_endpoints" && $0.message.contains("'dashboard'") })
        #expect(parseIssues("security:\n  public_endpoints: \"\"").isEmpty)
        // A redaction pattern that does not compile is refused when the file is read, not when the host starts.
        let pattern = parseIssues("security:\n  redact_values: \"AKIA[0-9\"")
        #expect(pattern.contains { $0.keyPath == "security.redact_values" && $0.message.contains("does not compile") }, "\(pattern)")
        #expect(parseIssues("security:\n  redact_values: \"AKIA[0-9A-Z]{16}\"").isEmpty)
    }

    @Test("http.tls: a certificate needs its key and client_ca needs both, each refused at its line; roles must be name:role")
    func tlsSettings() throws {
        let good = try ConfigurationLoader.parse(yaml: """
            http:
              tls: {certificate: /etc/s/cert.pem, private_key: /etc/s/key.pem, client_ca: /etc/s/ca.pem}
            security:
              client_certificate_roles: "prometheus:read"
            alerts:
              webhook_tls: {ca_file: /etc/s/ca.pem}
            exporters:
              prometheus:
                tls: {insecure_skip_verify: true}
            """, file: "c.yaml", environment: [:])
        #expect(good.http.tls.isEnabled && good.http.tls.clientCA == "/etc/s/ca.pem")
        #expect(good.alerts.webhookTLS.caFile == "/etc/s/ca.pem" && good.alerts.alertmanagerTLS.isDefault)
        #expect(good.exporters.prometheus.tls.insecureSkipVerify)

        let noKey = parseIssues("http:\n  port: 1\n  tls:\n    certificate: /c.pem\n")
        #expect(noKey.contains { $0.keyPath == "http.tls.certificate" && $0.line == 4 && $0.message.contains("go together") }, "\(noKey)")
        let caAlone = parseIssues("http:\n  tls:\n    client_ca: /ca.pem\n")
        #expect(caAlone.contains { $0.keyPath == "http.tls.client_ca" && $0.line == 3 && $0.message.contains("need HTTPS") }, "\(caAlone)")
        let roles = parseIssues("security:\n  client_certificate_roles: \"prometheus:owner\"\n")
        #expect(roles.contains { $0.keyPath == "security.client_certificate_roles" && $0.message.contains("name:role") }, "\(roles)")
    }

    @Test("a reload names a changed token list among the settings that need a restart")
    func tokensNeedARestart() throws {
        let before = try ConfigurationLoader.parse(yaml: "security:\n  tokens: []", file: "a.yaml", environment: [:])
        let after = try ConfigurationLoader.parse(
            yaml: "security:\n  tokens:\n    - {name: ci, role: write, token_env: CI_TOKEN}", file: "b.yaml", environment: [:])
        #expect(ConfigurationLoader.changedSettings(from: before, to: after) == ["security.tokens"])
        #expect(ConfigurationLoader.changedSettings(from: after, to: after).isEmpty)
    }
}
