import Foundation
import Logging
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

/// The reproductions of issue 11 that one request made: out-of-range times, oversized and deeply nested inputs,
/// cross-site requests. Each must get a 4xx that says what is wrong, and the host must go on serving.
@Suite("Hostile HTTP input", .serialized)
struct HostileInputTests {
    let logger = Logger(label: "hostile-input-tests")

    func withHost(extra: String = "", metricsExtra: String = "", _ body: (Int) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            "config.yaml",
            """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            \(extra)
            metrics:
              flush_interval: 50ms
            \(metricsExtra)
            logs:
              flush_interval: 50ms
            plugins: []
            """)
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            try await body(await runtime.boundAddress.waitForPort())
        }
    }

    @Test("times outside the years 1970 to 9999 in query parameters get 400 on every endpoint")
    func outOfRangeQueryTimes() async throws {
        try await withHost { port in
            let paths = [
                "/api/v1/logs?since=1e300", "/api/v1/logs?until=-1e300", "/api/v1/logs?since=1e17",
                "/api/v1/metrics/query?name=x&start=0&end=1e17", "/api/v1/metrics/query?name=x&start=0&end=1e300",
                "/api/v1/metrics/query?name=x&start=-1e17", "/api/v1/logs/stats?since=1e300",
                "/api/v1/logs/export?until=1e300", "/api/v1/traces?since=1e300", "/api/v1/traces?until=-1e17",
                "/api/v1/traces/stats?since=1e300", "/api/v1/alerts?since=1e300", "/api/v1/metrics?since=nan",
                "/api/v1/logs?since=10000-01-01T00:00:00Z",
            ]
            for path in paths {
                let answer = try await rawRequest(port, "GET", path)
                #expect(answer.status == 400, "\(path) answered \(answer.status): \(answer.body)")
                #expect(answer.body.contains("1970 to 9999") || answer.body.contains("expected"), "\(path): \(answer.body)")
            }
            #expect(try await rawRequest(port, "GET", "/health/live").status == 200)
        }
    }

    @Test("extreme timestamps in metrics, logs, spans and span events are refused, and nothing else is lost")
    func extremeBodyTimestamps() async throws {
        try await withHost { port in
            for timestamp in ["9223372036854775807", "-9223372036854775808", "-1", "253402300800000"] {
                let metric = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                    {"metrics": [{"name": "poison", "type": "gauge", "value": 1, "timestamp": \(timestamp)},
                                 {"name": "kept", "type": "gauge", "value": 2}]}
                    """)
                #expect(metric.status == 200, "\(metric.body)")
                #expect(metric.body.contains("1970 to 9999"), "\(metric.body)")
                let log = try await httpSend(port, "POST", "/api/v1/logs", body: """
                    {"logs": [{"level": "info", "message": "m", "timestamp": \(timestamp)}]}
                    """)
                #expect(log.status == 400, "\(log.body)")
                let span = try await httpSend(port, "POST", "/api/v1/spans", body: """
                    {"spans": [{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                      "name": "s", "start_time": 1796119200005, "end_time": \(timestamp)}]}
                    """)
                #expect(span.status == 400, "\(span.body)")
                let event = try await httpSend(port, "POST", "/api/v1/spans", body: """
                    {"spans": [{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
                      "name": "s", "start_time": 1796119200005, "end_time": 1796119200006,
                      "events": [{"name": "e", "timestamp": \(timestamp)}]}]}
                    """)
                #expect(event.status == 400, "\(event.body)")
            }
            #expect(try await eventually { try await httpGet(port, "/api/v1/metrics?name=kept").body.contains("\"kept\"") })
            let listed = try await httpGet(port, "/api/v1/metrics?name=poison")
            #expect(!listed.body.contains("\"poison\""))
            #expect(try await httpGet(port, "/api/v1/logs").status == 200)
            #expect(try await httpGet(port, "/health/live").status == 200)
        }
    }

    @Test("over-long names and texts are refused with the limit they broke")
    func oversizedStrings() async throws {
        try await withHost { port in
            let longName = String(repeating: "a", count: 300)
            let metric = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "\(longName)", "type": "gauge", "value": 1}]}
                """)
            #expect(metric.status == 400 && metric.body.contains("limits.max_name_length"), "\(metric.body)")
            let help = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "h", "type": "gauge", "value": 1, "help": "\(String(repeating: "x", count: 5000))"}]}
                """)
            #expect(help.status == 400 && help.body.contains("limits.max_text_length"), "\(help.body)")
            let labelName = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "l", "type": "gauge", "value": 1, "labels": {"\(longName)": "v"}}]}
                """)
            #expect(labelName.status == 400 && labelName.body.contains("limits.max_name_length"), "\(labelName.body)")
            let log = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "info", "message": "m", "component": "\(longName)"}]}
                """)
            #expect(log.status == 400 && log.body.contains("limits.max_name_length"), "\(log.body)")
            let fields = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "info", "message": "m", "fields": {"f": "\(String(repeating: "y", count: 70_000))"}}]}
                """)
            #expect(fields.status == 400 && fields.body.contains("limits.max_fields_size"), "\(fields.body)")
            let silence = try await httpSend(port, "POST", "/api/v1/silences", body: """
                {"matchers": "{alertname=\\"A\\"}", "duration": "2h", "created_by": "t",
                 "comment": "\(String(repeating: "c", count: 5000))"}
                """)
            #expect(silence.status == 400 && silence.body.contains("limits.max_text_length"), "\(silence.body)")
            let rule = try await httpSend(port, "POST", "/api/v1/rules", body: """
                {"name": "\(longName)", "query": "up", "condition": {"greater_than": 0}}
                """)
            #expect(rule.status == 400 && rule.body.contains("limits.max_name_length"), "\(rule.body)")
            let metrics = try await httpGet(port, "/metrics")
            #expect(!metrics.body.contains(longName))
        }
    }

    @Test("a JSON body nested past http.max_json_depth is refused before it is decoded")
    func deepJSON() async throws {
        try await withHost { port in
            let nested = String(repeating: "{\"a\":", count: 500) + "1" + String(repeating: "}", count: 500)
            let answer = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "info", "message": "m", "fields": \(nested)}]}
                """)
            #expect(answer.status == 400 && answer.body.contains("http.max_json_depth"), "\(answer.body)")
            // Brackets inside strings are not nesting.
            let quoted = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "info", "message": "\(String(repeating: "[{", count: 100))\\"]"}]}
                """)
            #expect(quoted.status == 200, "\(quoted.body)")
        }
    }

    @Test("cross-site requests: foreign Origin 403, foreign Host 421, text/plain bodies 415")
    func crossSite() async throws {
        try await withHost { port in
            let silence = #"{"matchers": "{alertname=~\".+\"}", "duration": "2h", "created_by": "page"}"#
            let plain = try await rawRequest(
                port, "POST", "/api/v1/silences", headers: ["Content-Type": "text/plain"], body: silence)
            #expect(plain.status == 415, "\(plain.body)")
            let emptyForm = try await rawRequest(
                port, "POST", "/api/v1/admin/reload", headers: ["Content-Type": "application/x-www-form-urlencoded"])
            #expect(emptyForm.status == 415, "\(emptyForm.body)")
            let foreign = try await rawRequest(
                port, "POST", "/api/v1/admin/reload", headers: ["Origin": "http://evil.example"])
            #expect(foreign.status == 403, "\(foreign.body)")
            let rebinding = try await rawRequest(port, "GET", "/api/v1/plugins", headers: ["Host": "evil.example:\(port)"])
            #expect(rebinding.status == 421, "\(rebinding.body)")
            let own = try await rawRequest(
                port, "GET", "/api/v1/plugins",
                headers: ["Host": "localhost:\(port)", "Origin": "http://localhost:\(port)"])
            #expect(own.status == 200, "\(own.body)")
            let silences = try await httpGet(port, "/api/v1/silences")
            #expect(!silences.body.contains("page"))
        }
    }

    @Test("allowed_origins and allowed_hosts admit the listed names")
    func allowLists() async throws {
        try await withHost(extra: """
              allowed_origins: "https://grafana.example:3000"
              allowed_hosts: "monitor.example"
            """) { port in
            let allowed = try await rawRequest(
                port, "GET", "/api/v1/plugins",
                headers: ["Host": "monitor.example:\(port)", "Origin": "https://grafana.example:3000"])
            #expect(allowed.status == 200, "\(allowed.body)")
        }
    }

    @Test("the bearer scheme is accepted in any case (RFC 9110)")
    func bearerAnyCase() async throws {
        try await withHost(extra: "  auth_token: s3cret") { port in
            for scheme in ["Bearer", "bearer", "BEARER"] {
                let answer = try await rawRequest(port, "GET", "/api/v1/plugins", headers: ["Authorization": "\(scheme) s3cret"])
                #expect(answer.status == 200, "\(scheme): \(answer.body)")
            }
            #expect(try await rawRequest(port, "GET", "/api/v1/plugins", headers: ["Authorization": "bearer wrong"]).status == 401)
        }
    }

    @Test("a half-sent request is closed after http.idle_timeout")
    func slowClient() async throws {
        try await withHost(extra: "  idle_timeout: 500ms") { port in
            let started = ContinuousClock.now
            let closed = try await offPool {
                let connection = try RawConnection(port: port, timeout: 10)
                connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                return connection.closedByServer()
            }
            #expect(closed)
            #expect(ContinuousClock.now - started < .seconds(9))
            #expect(try await rawRequest(port, "GET", "/health/live").status == 200)
        }
    }

    @Test("a fresh host whose jobs are healthy or not yet due says healthy, not unknown")
    func freshHostIsHealthy() async throws {
        try await withHost { port in
            let health = try jsonObject(try await httpGet(port, "/health").body)
            #expect(health["status"] as? String == "healthy", "\(health)")
            let retention = (health["components"] as? [String: Any])?["retention"] as? [String: Any]
            #expect(retention?["status"] as? String == "healthy", "\(String(describing: retention))")
        }
    }

    @Test("a pathological regex over 10,000 series answers at once (RE2), and /health/live stays fast meanwhile")
    func regexDenialOfService() async throws {
        try await withHost(extra: "", metricsExtra: "  max_series_per_metric: 20000") { port in
            let value = String(repeating: "a", count: 30) + "!"
            for batch in 0..<10 {
                let items = (0..<1000).map { index in
                    #"{"name": "rx", "type": "gauge", "value": 1, "labels": {"v": "\#(value)", "i": "\#(batch * 1000 + index)"}}"#
                }
                let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [\#(items.joined(separator: ","))]}"#)
                #expect(posted.status == 200, "\(posted.body)")
            }
            let query = "/api/v1/metrics?match=" + #"rx{v=~"(a+)+"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            async let answer = httpGet(port, query)
            // While the query runs, the liveness probe answers; a backtracking engine held the series lock for
            // minutes here (27 s for 20 series).
            let started = ContinuousClock.now
            let live = try await rawRequest(port, "GET", "/health/live")
            #expect(live.status == 200)
            #expect(ContinuousClock.now - started < .seconds(5))
            let result = try await answer
            #expect(result.status == 200)
            #expect(result.body.contains("\"count\":0") || !result.body.contains("\"rx\""), "no series matches: the value ends in !")
            let matching = try await httpGet(
                port, "/api/v1/metrics?match=" + #"rx{v=~"(a+)+!",i="7"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            #expect(matching.body.contains("\"rx\""), "\(matching.body.prefix(300))")
        }
    }

    @Test("the collections stored are bounded: series in the host, rules, silences")
    func boundedCollections() async throws {
        try await withHost(
            extra: "limits:\n  max_rules: 1\n  max_silences: 1", metricsExtra: "  max_series: 3"
        ) { port in
            let items = (0..<5).map { #"{"name": "s\#($0)", "type": "gauge", "value": 1}"# }.joined(separator: ",")
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [\#(items)]}"#)
            #expect(posted.body.contains("metrics.max_series"), "\(posted.body)")
            #expect(posted.body.contains(#""accepted":3"#), "\(posted.body)")
            let rule = #"{"name": "R%d", "query": "up", "condition": {"greater_than": 0}}"#
            #expect(try await httpSend(port, "POST", "/api/v1/rules", body: rule.replacingOccurrences(of: "%d", with: "1")).status == 201)
            let second = try await httpSend(port, "POST", "/api/v1/rules", body: rule.replacingOccurrences(of: "%d", with: "2"))
            #expect(second.status == 400 && second.body.contains("limits.max_rules"), "\(second.body)")
            let silence = #"{"matchers": "{alertname=\"A\"}", "duration": "2h", "created_by": "t"}"#
            #expect(try await httpSend(port, "POST", "/api/v1/silences", body: silence).status == 201)
            let another = try await httpSend(port, "POST", "/api/v1/silences", body: silence)
            #expect(another.status == 400 && another.body.contains("limits.max_silences"), "\(another.body)")
        }
    }

    @Test("a batch the write queue can never take is answered 413 and leaves the series untouched")
    func unavailableLeavesNoTrace() async throws {
        try await withHost(metricsExtra: "  max_queue_size: 5") { port in
            let items = (0..<10).map { #"{"name": "big\#($0)", "type": "gauge", "value": 1}"# }.joined(separator: ",")
            let answer = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [\#(items)]}"#)
            #expect(answer.status == 413 && answer.body.contains("larger than the write queue (metrics.max_queue_size, 5 rows)"),
                    "\(answer.body)")
            let listed = try await httpGet(port, "/api/v1/metrics?prefix=big")
            #expect(listed.body.contains(#""count":0"#), "\(listed.body)")
        }
    }

    @Test("a series query past http.query_timeout is refused with 400 saying so")
    func queryBudget() async throws {
        try await withHost(extra: "  query_timeout: 1ns") { port in
            let items = (0..<1000).map { #"{"name": "b", "type": "gauge", "value": 1, "labels": {"i": "\#($0)"}}"# }
            #expect(try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [\#(items.joined(separator: ","))]}"#).status == 200)
            let query = "/api/v1/metrics?match=" + #"{i=~"9.*"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let answer = try await httpGet(port, query)
            #expect(answer.status == 400 && answer.body.contains("http.query_timeout"), "\(answer.body)")
        }
    }
}
