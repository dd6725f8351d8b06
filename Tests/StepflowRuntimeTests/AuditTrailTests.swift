import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import StepflowConfig
import StepflowRuntime
import StepflowSecurity
import StepflowTestSupport
import Testing

/// State changes and refused requests are recorded as log entries with component `audit`, queryable like any log.
@Suite("The audit trail")
struct AuditTrailTests {
    let logger = Logger(label: "audit-trail-tests")

    func send(
        _ port: Int, _ method: String, _ path: String, token: String?, body: String? = nil
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let answer = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), String(buffer: answer))
    }

    @Test("who, from where, what and with which result: silences, a refused rule change, refused and accepted ingest")
    func recordsStateChangesAndRefusals() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, """
            http:
              port: 0
            security:
              tokens:
                - {name: grafana, role: read, token_sha256: "\(TokenDigest.hex("reader-token"))"}
                - {name: agent, role: write, token_sha256: "\(TokenDigest.hex("writer-token"))"}
                - {name: ops, role: admin, token_sha256: "\(TokenDigest.hex("admin-token"))"}
            plugins: []
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let silence = try await send(port, "POST", "/api/v1/silences", token: "writer-token",
                body: #"{"matchers": "{alertname=\"Disk\"}", "duration": "1h", "created_by": "agent", "comment": "test"}"#)
            #expect(silence.status == 201, "\(silence.body)")
            let id = try #require((try jsonObject(silence.body))["id"] as? String)
            #expect(try await send(port, "DELETE", "/api/v1/silences/\(id)", token: "writer-token").status == 204)
            #expect(try await send(port, "POST", "/api/v1/rules", token: "reader-token", body: "{}").status == 403)
            #expect(try await send(port, "POST", "/api/v1/metrics", token: nil, body: #"{"metrics": []}"#).status == 401)
            let ingest = try await send(port, "POST", "/api/v1/metrics", token: "writer-token",
                body: #"{"metrics": [{"name": "audit_test", "type": "gauge", "value": 1}]}"#)
            #expect(ingest.status == 200, "\(ingest.body)")

            var entries: [[String: Any]] = []
            let found = try await eventually {
                let page = try await send(port, "GET", "/api/v1/logs?component=audit&limit=100", token: "reader-token")
                entries = ((try jsonObject(page.body))["logs"] as? [[String: Any]]) ?? []
                return entries.count >= 4
            }
            #expect(found, "audit entries: \(entries)")
            let messages = entries.compactMap { $0["message"] as? String }
            #expect(messages.contains { $0.hasPrefix("POST /api/v1/silences by agent (write) from 127.0.0.1:") && $0.hasSuffix(": 201 done") }, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("DELETE /api/v1/silences/{id} [id=\(id)] by agent (write)") && $0.hasSuffix(": 204 done") }, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("POST /api/v1/rules by grafana (read)") && $0.hasSuffix(": 403 refused") }, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("POST /api/v1/metrics by anonymous") && $0.hasSuffix(": 401 refused") }, "\(messages)")
            // Accepted ingest is counted on /metrics, not audited.
            #expect(!messages.contains { $0.contains("/api/v1/metrics by agent") }, "\(messages)")
            // The fields are structured, for queries and exports.
            let refusal = try #require(entries.first { ($0["message"] as? String)?.contains("/api/v1/rules") == true })
            let fields = String(describing: refusal)
            for expected in ["principal", "grafana", "client", "127.0.0.1", "route", "/api/v1/rules", "status", "403", "refused"] {
                #expect(fields.contains(expected), "\(fields)")
            }
        }
    }
}
