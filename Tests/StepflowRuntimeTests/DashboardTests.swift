import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowCore
import StepflowSecurity
@testable import StepflowServer
import StepflowTestSupport
import Testing

/// What ``DashboardTests/seed(_:)`` stored.
struct DashboardSeed {
    let alertID: String
    let traceID: String
    /// The trace's spans in the order a waterfall must list them: parents first, children by start time.
    let waterfall: [(id: String, depth: Int)]
}

@Suite("The dashboard", .serialized)
struct DashboardTests {
    let logger = Logger(label: "dashboard-tests")

    static let hostileScript = #"<script>window.__stepflowInjected=true</script>"#
    static let hostileImage = #""><img src=x onerror="window.__stepflowInjected=true">"#
    static let hostileLink = "javascript:window.__stepflowInjected=true"

    static func jsonString(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data(), as: UTF8.self)
    }

    /// A firing alert with hostile labels and annotations, two metric families over the last hour, five logs of one
    /// trace (one with a hostile message), and that trace's 20 spans (posted out of order, one with hostile
    /// attributes): what an operator would find on a real host.
    static func seed(_ port: Int) async throws -> DashboardSeed {
        let rule = try await httpSend(port, "POST", "/api/v1/rules", body: """
            {"name": "DiskAlmostFull", "query": "disk_used_ratio", "condition": {"greater_than": 0.9}, "for": "0s",
             "evaluation_interval": "200ms", "severity": "critical", "description": \(jsonString(hostileLink)),
             "annotations": {"summary": "{{ $labels.mount }} is full \(hostileImage.replacingOccurrences(of: "\"", with: "\\\""))"}}
            """)
        #expect(rule.status == 201, "\(rule.body)")
        let disk = try await httpSend(port, "POST", "/api/v1/metrics", body: """
            {"metrics": [{"name": "disk_used_ratio", "type": "gauge", "value": 0.95, "labels": {"mount": \(jsonString(hostileScript))}}]}
            """)
        #expect(disk.status == 200, "\(disk.body)")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var samples: [String] = []
        for minute in 0..<60 {
            let time = now - Int64(59 - minute) * 60_000
            for instance in ["a", "b", "c"] {
                let value = Double(minute % 20) + Double(instance.unicodeScalars.first!.value % 7)
                samples.append(#"{"name": "cpu_usage", "type": "gauge", "value": \#(value), "labels": {"instance": "\#(instance)"}, "timestamp": \#(time)}"#)
            }
            for code in ["200", "500"] {
                samples.append(#"{"name": "http_requests_total", "type": "counter", "value": \#(minute * (code == "200" ? 30 : 2)), "labels": {"code": "\#(code)"}, "timestamp": \#(time)}"#)
            }
        }
        let series = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [\#(samples.joined(separator: ","))]}"#)
        #expect(series.status == 200, "\(series.body)")

        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        func spanID(_ number: Int) -> String { String(format: "%016x", 0xa000 + number) }
        let base = Date().addingTimeInterval(-120)
        func time(_ milliseconds: Int) -> String { base.addingTimeInterval(Double(milliseconds) / 1000).rfc3339 }
        // Root 0 (0–1000 ms); children 1–4 start at 600, 10, 400, 200 (posted out of start order); each child has
        // grandchildren (15 in all) starting 5, 25, 45… ms after it.
        var spans: [(id: Int, parent: Int?, start: Int, end: Int)] = [(0, nil, 0, 1000)]
        let children = [(1, 600), (2, 10), (3, 400), (4, 200)]
        for (child, start) in children { spans.append((child, 0, start, start + 150)) }
        var next = 5
        for (index, (child, start)) in children.enumerated() {
            for k in 0..<(index == 0 ? 3 : 4) {
                spans.append((next, child, start + 45 - k * 20, start + 60 - k * 20))  // later siblings first
                next += 1
            }
        }
        #expect(spans.count == 20)
        let spanJSON = spans.reversed().map { span -> String in
            var fields = [
                #""trace_id": "\#(traceID)""#, #""span_id": "\#(spanID(span.id))""#,
                #""name": "step-\#(span.id)""#, #""start_time": "\#(time(span.start))""#, #""end_time": "\#(time(span.end))""#,
                #""status": "\#(span.id == 7 ? "error" : "ok")""#,
            ]
            if let parent = span.parent { fields.append(#""parent_span_id": "\#(spanID(parent))""#) }
            if span.id == 0 {
                fields[2] = #""name": "GET /checkout""#
                fields.append(#""attributes": {"http.url": \#(jsonString(hostileLink)), "note": \#(jsonString(hostileImage))}"#)
                fields.append(#""events": [{"name": \#(jsonString(hostileScript)), "timestamp": "\#(time(5))"}]"#)
            }
            return "{" + fields.joined(separator: ", ") + "}"
        }
        let posted = try await httpSend(port, "POST", "/api/v1/spans", body: #"{"spans": [\#(spanJSON.joined(separator: ","))]}"#)
        #expect(posted.status == 200, "\(posted.body)")

        let logs = (0..<5).map { index in
            #"{"level": "\#(["info", "warn", "error", "info", "debug"][index])", "message": \#(jsonString(index == 2 ? "payment failed " + hostileScript : "checkout step \(index)")), "component": "checkout", "trace_id": "\#(traceID)", "span_id": "\#(spanID(index))", "fields": {"order": \#(jsonString(hostileImage))}}"#
        }
        let logged = try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": [\#(logs.joined(separator: ","))]}"#)
        #expect(logged.status == 200, "\(logged.body)")

        var alertID: String?
        let fired = await eventually(30) {
            guard let body = try? await httpGet(port, "/api/v1/alerts?status=firing").body,
                let answer = try? jsonObject(body), let alerts = answer["alerts"] as? [[String: Any]],
                let id = alerts.first?["id"] as? String
            else { return false }
            alertID = id
            return true
        }
        #expect(fired)
        #expect(await eventually(30) {
            let trace = try? await httpGet(port, "/api/v1/traces/\(traceID)")
            let logs = (try? await httpGet(port, "/api/v1/logs?trace_id=\(traceID)").body) ?? ""
            return trace?.status == 200 && logs.contains(#""count":5"#)
        })

        // Parents before children, siblings by start time.
        var waterfall: [(String, Int)] = []
        func walk(_ parent: Int?, _ depth: Int) {
            for span in spans.filter({ $0.parent == parent }).sorted(by: { $0.start < $1.start }) {
                waterfall.append((spanID(span.id), depth))
                walk(span.id, depth + 1)
            }
        }
        walk(nil, 0)
        return DashboardSeed(alertID: try #require(alertID), traceID: traceID, waterfall: waterfall)
    }

    static let config = """
        http:
          port: 0
        plugins: []
        metrics:
          flush_interval: 50ms
        """

    @Test("every page answers HTML with a script-free CSP; a bad filter gets a page naming it, not an error")
    func everyPage() async throws {
        try await withHost(Self.config, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let seed = try await Self.seed(port)
            for path in [
                "/dashboard", "/dashboard/metrics", "/dashboard/metrics?q=cpu_usage&q=http_requests_total&range=6h",
                "/dashboard/logs", "/dashboard/logs?level=warn&component=checkout&q=step",
                "/dashboard/traces?operation=GET%20/checkout&min_duration=1ms&status=ok", "/dashboard/traces/\(seed.traceID)",
                "/dashboard/alerts", "/dashboard/alerts?status=all&severity=warning", "/dashboard/silences/new?alert=\(seed.alertID)",
                "/dashboard/rules",
            ] {
                let page = try await rawExchange(port, "GET", path)
                #expect(page.status == 200, "\(path): \(page.body.prefix(500))")
                #expect(page.headers["content-type"] == "text/html; charset=utf-8", "\(path)")
                #expect(page.headers["content-security-policy"]?.hasPrefix("default-src 'none'") == true, "\(path)")
                #expect(page.body.hasSuffix("</html>\n"), "\(path)")
                #expect(page.body.utf8.count < 200_000, "\(path): \(page.body.utf8.count) bytes")
                #expect(!page.body.contains("<script"), "\(path) holds a script element")
            }
            let style = try await rawExchange(port, "GET", "/dashboard/style.css")
            #expect(style.status == 200 && style.headers["content-type"]?.hasPrefix("text/css") == true)

            for (path, status, names) in [
                ("/dashboard/logs?level=loud", 400, "loud"), ("/dashboard/metrics?range=3w", 400, "range"),
                ("/dashboard/metrics?start=yesterday", 400, "start"), ("/dashboard/traces?status=meh", 400, "status"),
                ("/dashboard/traces/nothex", 400, "nothex"), ("/dashboard/traces/\(String(repeating: "ab", count: 16))", 404, "no trace"),
                ("/dashboard/alerts?status=maybe", 400, "status"), ("/dashboard/logs?cursor=%3Cx%3E", 400, "cursor"),
            ] {
                let page = try await rawExchange(port, "GET", path)
                #expect(page.status == status, "\(path): \(page.body.prefix(300))")
                #expect(page.body.contains("role=\"alert\"") && page.body.contains(names), "\(path): \(page.body.prefix(1500))")
            }
            // Hover values: each band's title lists the series' values at its time.
            let chart = try await rawExchange(port, "GET", "/dashboard/metrics?q=cpu_usage&range=1h").body
            #expect(chart.components(separatedBy: "<rect class=\"hover\"").count - 1 == 40)
            #expect(chart.range(of: #"<title>[0-9: -]+\n\{instance=&quot;a&quot;\} [0-9.]+\n"#, options: .regularExpression) != nil)
            // A bad selector is shown in its chart's place; the other charts still draw.
            let mixed = try await rawExchange(port, "GET", "/dashboard/metrics?q=cpu_usage%7Binstance%3D&q=cpu_usage")
            #expect(mixed.status == 200)
            #expect(mixed.body.contains("class=\"problem\"") && mixed.body.contains("<path class=\"series"))
        }
    }

    @Test("the overview shows health, database size, queue depths, plugins with their runs, open alerts by severity, and ingest rates")
    func overview() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", testConfigYAML(directory: directory))
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            _ = try await Self.seed(port)
            // Ingest keeps flowing, and self-telemetry is stored every second: the rate appears.
            var page = ""
            let shown = await eventually(30) {
                _ = try? await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "ticks", "type": "gauge", "value": 1}]}"#)
                page = (try? await httpGet(port, "/dashboard").body) ?? ""
                return page.contains("/api/v1/metrics accepted</code></td><td><span class=\"num\">")
                    && page.range(of: #"/api/v1/metrics accepted</code></td><td><span class="num">[0-9.k]+</span></td><td><span class="num">[0-9.k]+/s"#, options: .regularExpression) != nil
                    && page.contains(">filesystem<") && !page.contains("<td>0</td><td>0</td><td><span class=\"num\">")
            }
            #expect(shown, "\(page)")
            for expected in [
                "Health: <span class=\"badge healthy\">", ">storage<", "database size", "samples waiting to be written",
                "log entries waiting to be written", ">system<", ">filesystem<", "<th scope=\"col\">cpu</th>",
                "href=\"/dashboard/alerts?severity=critical\"", "http-equiv=\"refresh\"",
            ] {
                #expect(page.contains(expected), "the overview lacks \(expected)")
            }
            #expect(page.range(of: #"database size</dt><dd class="num">[0-9.]+ (KiB|MiB)"#, options: .regularExpression) != nil)
            // Critical: one firing alert.
            #expect(page.range(of: #"badge critical">critical</span></a></td><td>1</td>"#, options: .regularExpression) != nil)
            // / leads to the overview.
            let root = try await rawExchange(port, "GET", "/")
            #expect(root.status == 303 && root.headers["location"] == "/dashboard")
        }
    }

    @Test("a text search that runs out of time says how far back it searched, and going on finds every match once")
    func searchGoesOn() async throws {
        try await withHost(Self.config, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let nowMs = Int64(Date().timeIntervalSince1970) * 1000
            let now = Date(timeIntervalSince1970: Double(nowMs) / 1000)
            let entries = (0..<600).map { index in
                #"{"level": "info", "component": "search", "message": "\#(index % 7 == 0 ? "needle" : "hay") \#(index)", "timestamp": \#(nowMs - Int64(index) * 10_000)}"#
            }
            let posted = try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": [\#(entries.joined(separator: ","))]}"#)
            #expect(posted.status == 200, "\(posted.body)")
            let expected = (0..<600).filter { $0 % 7 == 0 }.map { "needle \($0)" }
            let start = now.addingTimeInterval(-7200)
            let query = LogQuery(component: "search", messageContains: "needle", limit: LogsPage.pageSize)
            #expect(await eventually(30) {
                let page = try? await LogsPage.search(
                    runtime.logs.engine, query, start: start, end: now.addingTimeInterval(1), budgetMilliseconds: 60_000)
                return page?.entries.count == LogsPage.pageSize
            })
            // With no time to spare, each page searches one window and says where it stopped.
            var found: [String] = []
            var end = now.addingTimeInterval(1)
            var cursor: LogCursor?
            var pages = 0
            while pages < 1000 {
                pages += 1
                var next = query
                next.cursor = cursor
                let page = try await LogsPage.search(runtime.logs.engine, next, start: start, end: end, budgetMilliseconds: 0)
                found += page.entries.map(\.message)
                if let more = page.next {
                    cursor = more
                } else if let backTo = page.searchedBackTo {
                    #expect(backTo < end)
                    (end, cursor) = (backTo, nil)
                } else {
                    break
                }
            }
            #expect(pages > 10, "the search stopped for time \(pages) times")
            #expect(found == expected, "newest first, each match once")
            // With time enough, the page is full at once and goes on with a cursor.
            let full = try await LogsPage.search(
                runtime.logs.engine, query, start: start, end: now.addingTimeInterval(1), budgetMilliseconds: 60_000)
            #expect(full.entries.map(\.message) == Array(expected.prefix(LogsPage.pageSize)))
            #expect(full.next != nil || full.searchedBackTo != nil)
            // The page shows the newest match first, and a way on (older entries, or where the search stopped).
            let html = try await httpGet(port, "/dashboard/logs?q=needle&component=search").body
            #expect(html.contains("needle 0") && !html.contains("hay 1"))
            #expect(html.contains(">Older entries<") || html.contains(">Search older entries<"))
        }
    }

    @Test("stored <script>, \"><img onerror> and javascript: values reach every page as escaped text, never as markup")
    func escapesEverything() async throws {
        try await withHost(Self.config, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let seed = try await Self.seed(port)
            let pages = [
                "/dashboard", "/dashboard/metrics?q=disk_used_ratio", "/dashboard/logs?trace_id=\(seed.traceID)",
                "/dashboard/traces/\(seed.traceID)", "/dashboard/alerts", "/dashboard/silences/new?alert=\(seed.alertID)",
            ]
            var seen = Set<String>()
            for path in pages {
                let body = try await rawExchange(port, "GET", path).body
                #expect(!body.contains("<script"), "\(path)")
                #expect(!body.contains("<img"), "\(path)")
                #expect(!body.contains("href=\"javascript:"), "\(path)")
                #expect(!body.contains("onerror=\""), "\(path)")
                for (name, escaped) in [
                    ("script", "&lt;script&gt;window.__stepflowInjected=true&lt;/script&gt;"),
                    ("image", "&quot;&gt;&lt;img src=x onerror=&quot;window.__stepflowInjected=true&quot;&gt;"),
                    ("link", "javascript:window.__stepflowInjected=true"),
                ] where body.contains(escaped) {
                    seen.insert("\(path) \(name)")
                }
            }
            // Each hostile value was shown somewhere it was stored: label, annotation, description, log message
            // and field, span attribute and event.
            for expected in [
                "/dashboard/metrics?q=disk_used_ratio script", "/dashboard/alerts script", "/dashboard/alerts image",
                "/dashboard/alerts link", "/dashboard/logs?trace_id=\(seed.traceID) script",
                "/dashboard/logs?trace_id=\(seed.traceID) image", "/dashboard/traces/\(seed.traceID) link",
                "/dashboard/traces/\(seed.traceID) image", "/dashboard/traces/\(seed.traceID) script",
                "/dashboard/silences/new?alert=\(seed.alertID) script",
            ] {
                #expect(seen.contains(expected), "not shown: \(expected); seen \(seen.sorted())")
            }
        }
    }

    @Test("viewing needs read and acting needs write plus the page's form token; a forged or foreign form changes nothing")
    func actionsNeedRoleAndToken() async throws {
        try await withHost("""
            http:
              port: 0
            security:
              tokens:
                - {name: grafana, role: read, token_sha256: "\(TokenDigest.hex("reader-token"))"}
                - {name: oncall, role: write, token_sha256: "\(TokenDigest.hex("writer-token"))"}
                - {name: ops, role: admin, token_sha256: "\(TokenDigest.hex("admin-token"))"}
            plugins: []
            metrics:
              flush_interval: 50ms
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let admin = ["Authorization": "Bearer admin-token"]
            let rule = try await rawExchange(port, "POST", "/api/v1/rules", headers: admin.merging(["Content-Type": "application/json"]) { a, _ in a }, body: """
                {"name": "QueueDeep", "query": "queue_depth", "condition": {"greater_than": 1}, "for": "0s", "evaluation_interval": "200ms"}
                """)
            #expect(rule.status == 201, "\(rule.body)")
            _ = try await rawExchange(port, "POST", "/api/v1/metrics", headers: admin.merging(["Content-Type": "application/json"]) { a, _ in a },
                                      body: #"{"metrics": [{"name": "queue_depth", "type": "gauge", "value": 5}]}"#)
            var alertID = ""
            #expect(await eventually(30) {
                let body = (try? await rawExchange(port, "GET", "/api/v1/alerts?status=firing", headers: admin).body) ?? ""
                guard let answer = try? jsonObject(body), let alerts = answer["alerts"] as? [[String: Any]],
                    let id = alerts.first?["id"] as? String else { return false }
                alertID = id
                return true
            })
            let basic = { (token: String) in ["Authorization": "Basic " + Data("x:\(token)".utf8).base64EncodedString()] }

            // Anonymous: a Basic challenge; a reader sees the page without the forms; a writer sees them.
            let anonymous = try await rawExchange(port, "GET", "/dashboard/alerts")
            #expect(anonymous.status == 401)
            #expect(anonymous.headers["www-authenticate"]?.hasPrefix("Basic") == true)
            let readerPage = try await rawExchange(port, "GET", "/dashboard/alerts", headers: basic("reader-token"))
            #expect(readerPage.status == 200)
            #expect(readerPage.body.contains("QueueDeep") && !readerPage.body.contains("/ack\""))
            let writerPage = try await rawExchange(port, "GET", "/dashboard/alerts", headers: basic("writer-token"))
            #expect(writerPage.body.contains("/dashboard/alerts/\(alertID)/ack\""))
            let token = try #require(writerPage.body.range(of: #"name="csrf" value=""#).map {
                String(writerPage.body[$0.upperBound...].prefix(64))
            })

            let form = ["Content-Type": "application/x-www-form-urlencoded"]
            let ack = "/dashboard/alerts/\(alertID)/ack"
            func status() async throws -> String {
                let body = try await rawExchange(port, "GET", "/api/v1/alerts/\(alertID)", headers: admin).body
                return (try? jsonObject(body))?["status"] as? String ?? "?"
            }
            // The reader may not act, even with a valid-looking form.
            let reader = try await rawExchange(port, "POST", ack, headers: basic("reader-token").merging(form) { a, _ in a }, body: "csrf=\(token)&message=x")
            #expect(reader.status == 403)
            // No token, a wrong one, another principal's (the writer's token sent by the admin): 403, nothing changes.
            for (headers, body) in [
                (basic("writer-token"), "message=forged"), (basic("writer-token"), "csrf=\(String(repeating: "0", count: 64))&message=forged"),
                (basic("admin-token"), "csrf=\(token)&message=forged"),
            ] {
                let refused = try await rawExchange(port, "POST", ack, headers: headers.merging(form) { a, _ in a }, body: body)
                #expect(refused.status == 403, "\(refused.body.prefix(300))")
                #expect(refused.body.contains("token"))
            }
            // A form from another site is refused by its Origin before anything reads it.
            let foreign = try await rawExchange(
                port, "POST", ack, headers: basic("writer-token").merging(form.merging(["Origin": "https://evil.example"]) { a, _ in a }) { a, _ in a },
                body: "csrf=\(token)&message=forged")
            #expect(foreign.status == 403)
            let unchanged = try await status()
            #expect(unchanged == "firing")
            // A form body is refused on every API route.
            let apiForm = try await rawExchange(port, "POST", "/api/v1/alerts/\(alertID)/ack", headers: basic("writer-token").merging(form) { a, _ in a }, body: "user=x&message=y")
            #expect(apiForm.status == 415)

            // The writer's own form acts, and leads back to the alert.
            let done = try await rawExchange(port, "POST", ack, headers: basic("writer-token").merging(form) { a, _ in a }, body: "csrf=\(token)&message=on%20it")
            #expect(done.status == 303, "\(done.body.prefix(300))")
            #expect(done.headers["location"]?.hasPrefix("/dashboard/alerts?done=acknowledged#alert-") == true, "\(done.headers)")
            let changed = try await status()
            #expect(changed == "acknowledged")
            let acknowledged = try await rawExchange(port, "GET", "/api/v1/alerts/\(alertID)", headers: admin).body
            #expect(acknowledged.contains(#""acknowledged_by":"oncall""#) && acknowledged.contains(#""acknowledgement_message":"on it""#), "\(acknowledged)")

            // A silence from the form, listed on the page with its Expire button; expiring it from there ends it.
            let writer = basic("writer-token").merging(form) { a, _ in a }
            let matchers = #"{alertname="QueueDeep"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let created = try await rawExchange(port, "POST", "/dashboard/silences", headers: writer,
                                                body: "csrf=\(token)&matchers=\(matchers)&duration=2h&comment=deploy")
            #expect(created.status == 303 && created.headers["location"]?.hasPrefix("/dashboard/alerts?done=silenced") == true, "\(created.body.prefix(300))")
            let listed = try await rawExchange(port, "GET", "/api/v1/silences", headers: admin).body
            let silenceID = try #require(((try jsonObject(listed))["silences"] as? [[String: Any]])?.first?["id"] as? String, "\(listed)")
            #expect(listed.contains(#""created_by":"oncall""#) && listed.contains(#""comment":"deploy""#), "\(listed)")
            let page = try await rawExchange(port, "GET", "/dashboard/alerts", headers: basic("writer-token")).body
            #expect(page.contains("/dashboard/silences/\(silenceID)/expire\""))
            let bad = try await rawExchange(port, "POST", "/dashboard/silences", headers: writer,
                                            body: "csrf=\(token)&matchers=%7Bnot%20a%20selector&duration=2h")
            #expect(bad.status == 400 && bad.body.contains("role=\"alert\""), "\(bad.body.prefix(500))")
            let expired = try await rawExchange(port, "POST", "/dashboard/silences/\(silenceID)/expire", headers: writer, body: "csrf=\(token)")
            #expect(expired.status == 303)
            #expect(try await rawExchange(port, "GET", "/api/v1/silences", headers: admin).body.contains(#""count":0"#))

            // Resolving from the form closes the alert.
            let resolved = try await rawExchange(port, "POST", "/dashboard/alerts/\(alertID)/resolve", headers: writer, body: "csrf=\(token)&message=fixed")
            #expect(resolved.status == 303)
            let closed = try await status()
            #expect(closed == "resolved")

            // Rules: an admin may disable one from its page; a writer sees no button and is refused.
            let rulesForWriter = try await rawExchange(port, "GET", "/dashboard/rules", headers: basic("writer-token")).body
            #expect(rulesForWriter.contains("QueueDeep") && !rulesForWriter.contains("/disable\""))
            let rulesForAdmin = try await rawExchange(port, "GET", "/dashboard/rules", headers: basic("admin-token")).body
            let ruleID = try #require((try jsonObject(rule.body))["id"] as? String)
            #expect(rulesForAdmin.contains("/dashboard/rules/\(ruleID)/disable\""))
            let adminToken = try #require(rulesForAdmin.range(of: #"name="csrf" value=""#).map {
                String(rulesForAdmin[$0.upperBound...].prefix(64))
            })
            let byWriter = try await rawExchange(port, "POST", "/dashboard/rules/\(ruleID)/disable", headers: writer, body: "csrf=\(token)")
            #expect(byWriter.status == 403)
            let disabled = try await rawExchange(
                port, "POST", "/dashboard/rules/\(ruleID)/disable", headers: basic("admin-token").merging(form) { a, _ in a },
                body: "csrf=\(adminToken)")
            #expect(disabled.status == 303 && disabled.headers["location"]?.hasPrefix("/dashboard/rules?done=disabled") == true,
                    "\(disabled.headers) \(disabled.body.prefix(300))")
            let ruleNow = try await rawExchange(port, "GET", "/api/v1/rules/\(ruleID)", headers: admin).body
            #expect(ruleNow.contains(#""enabled":false"#), "\(ruleNow)")
            let rulesPage = try await rawExchange(port, "GET", "/dashboard/rules?done=disabled", headers: basic("admin-token")).body
            #expect(rulesPage.contains("badge disabled") && rulesPage.contains("/dashboard/rules/\(ruleID)/enable\""))
            #expect(rulesPage.contains("Rule disabled"))
            // A link cannot make a page say words of its own.
            let spoofed = try await rawExchange(port, "GET", "/dashboard/alerts?done=Your%20session%20expired", headers: basic("writer-token")).body
            #expect(!spoofed.contains("session expired") && !spoofed.contains("class=\"notice\""))

            // Each action is in the audit trail with its principal, as the API's are; the forged ones as refused.
            #expect(await eventually(30) {
                let audit = (try? await rawExchange(port, "GET", "/api/v1/logs?component=audit&limit=500", headers: admin).body) ?? ""
                return audit.contains("POST /dashboard/alerts/{id}/ack [id=\(alertID)] by oncall (write)")
                    && audit.contains("POST /dashboard/rules/{id}/disable [id=\(ruleID)] by ops (admin)")
                    && audit.contains("POST /dashboard/alerts/{id}/ack [id=\(alertID)] by grafana (read)")
            })
        }
    }

    @Test("2,000 generated and mutated forms to every dashboard action: no crash, and every answer a redirect or a page saying what is wrong")
    func fuzzForms() async throws {
        // No rate limit: every form reaches the action, none is turned away with 429.
        try await withHost(Self.config + "\nsecurity:\n  rate_limit: 0\n", logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let seed = try await Self.seed(port)
            let page = try await rawExchange(port, "GET", "/dashboard/silences/new?alert=\(seed.alertID)").body
            let token = try #require(page.range(of: #"name="csrf" value=""#).map { String(page[$0.upperBound...].prefix(64)) })
            let ruleID = try #require(
                (((try jsonObject(try await httpGet(port, "/api/v1/rules").body))["rules"] as? [[String: Any]])?.first?["id"]) as? String)
            let paths = [
                "/dashboard/alerts/\(seed.alertID)/ack", "/dashboard/alerts/\(seed.alertID)/resolve", "/dashboard/silences",
                "/dashboard/silences/none/expire", "/dashboard/rules/\(ruleID)/disable", "/dashboard/rules/\(ruleID)/enable",
                "/dashboard/alerts/nope/ack",
            ]
            let fields = ["csrf", "message", "matchers", "duration", "comment"]
            let fuzzSeed = fuzzSeed(default: 0x5EED_0018)
            let (failures, statuses) = try await offPool { () -> ([String], [Int: Int]) in
                var random = FuzzRandom(seed: fuzzSeed)
                var failures: [String] = []
                var statuses: [Int: Int] = [:]
                for _ in 0..<2_000 {
                    let path = random.pick(paths)
                    var pairs = [random.chance(0.9) ? "csrf=\(token)" : "csrf=\(Self.formValue(FuzzCorpus.token(&random)))"]
                    for field in fields.dropFirst() where random.chance(0.5) {
                        let value = random.chance(0.5) ? FuzzCorpus.token(&random) : FuzzMutator.mutate(#"{alertname="DiskAlmostFull"}"#, &random)
                        pairs.append(field + "=" + Self.formValue(value))
                    }
                    var body = pairs.joined(separator: "&")
                    if random.chance(0.2) { body = FuzzMutator.mutate(body, &random) }
                    let answer = try blockingRawExchange(
                        port, "POST", path, headers: ["Content-Type": "application/x-www-form-urlencoded"], bytes: Array(body.utf8))
                    statuses[answer.status, default: 0] += 1
                    let explained = answer.body.contains("role=\"alert\"") || answer.body.contains("\"error\"")
                    if !(answer.status == 303 || ((400..<500).contains(answer.status) && explained)) {
                        failures.append("\(path) \(body.prefix(200)) -> \(answer.status) \(answer.body.prefix(200))")
                    }
                }
                return (failures, statuses)
            }
            #expect(failures.isEmpty, "seed \(fuzzSeed): \(failures.prefix(5))")
            // The forms reached the actions: some acted, some were refused for what they held, some for the token.
            #expect((statuses[303] ?? 0) > 0 && (statuses[400] ?? 0) > 0 && (statuses[403] ?? 0) > 0, "\(statuses)")
            #expect(statuses[429] == nil, "\(statuses)")
            #expect(try await httpGet(port, "/health/live").status == 200)
        }
    }

    static func formValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    @Test(
        "in a real browser (headless Chromium): every page loads without console errors; charts, waterfall, ack and silence work; hostile values stay text",
        .enabled(if: ExternalTool.isCI || BrowserSession.available))
    func inABrowser() async throws {
        guard BrowserSession.available else {
            Issue.record("\(BrowserSession.missing)")
            return
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, Self.config, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let seed = try await Self.seed(port)
            let base = "http://127.0.0.1:\(port)"
            let unlabelled = "return [...document.querySelectorAll('input:not([type=hidden]), select')].filter(e => e.labels.length === 0).map(e => e.name)"
            let steps: [BrowserSession.Step] = [
                .visit("\(base)/dashboard", shot: "overview"),
                .visit("\(base)/dashboard/metrics?q=cpu_usage&q=http_requests_total&range=1h", shot: "metrics"),
                .evaluate("return [...document.querySelectorAll('svg.chart')].map(s => s.querySelectorAll('path.series').length)"),
                .evaluate(unlabelled),
                .visit("\(base)/dashboard/logs?trace_id=\(seed.traceID)", shot: "logs"),
                .evaluate("return document.querySelectorAll('a[href=\"/dashboard/traces/\(seed.traceID)\"]').length"),
                .visit("\(base)/dashboard/traces", shot: "traces"),
                .visit("\(base)/dashboard/traces/\(seed.traceID)", shot: "trace"),
                .evaluate("return [...document.querySelectorAll('li.span-row')].map(li => [li.dataset.spanId, Number(li.dataset.depth)])"),
                .visit("\(base)/dashboard/alerts", shot: "alerts"),
                .evaluate(unlabelled),
                // Acknowledge with the keyboard: type the message and press Enter.
                .typeAndEnter("#alert-\(seed.alertID) form[action$='/ack'] input[name=message]", "looking into it"),
                .click("#alert-\(seed.alertID) a.button", shot: "silence"),
                .click("form[action='/dashboard/silences'] button"),
                .visit("\(base)/dashboard/rules", shot: "rules"),
                .window(width: 420, height: 900),
                .visit("\(base)/dashboard/alerts", shot: "narrow"),
                // What sticks out past the right edge of the narrow window (nothing should).
                .evaluate("""
                    return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                        && !e.closest('.scroll')).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + '/' + window.innerWidth)
                    """),
            ]
            let reports = try await BrowserSession.run(steps, name: "dashboard", in: directory)
            #expect(reports.count == steps.count)
            for (step, report) in zip(steps, reports) {
                #expect(report.consoleErrors.isEmpty, "\(step.action) \(report.url): \(report.consoleErrors)")
                #expect(!report.injected, "a stored value ran as script on \(report.url)")
                #expect(report.htmlBytes < 200_000, "\(report.url): \(report.htmlBytes) bytes")
                #expect(report.title.hasPrefix("stepflow-monitor"), "\(report.url): \(report.title)")
                if let shot = report.screenshot {
                    #expect(FileManager.default.fileExists(atPath: shot))
                    print("dashboard screenshot: \(shot)")
                }
            }
            guard reports.count == steps.count else { return }
            #expect(try reports[2].decoded([Int].self) == [3, 2], "one path per series in each chart")
            #expect(try reports[3].decoded([String].self) == [])
            #expect(try reports[5].decoded(Int.self) == 5, "each of the trace's logs links to it")
            let rows = try reports[8].decoded([[JSONValueCodable]].self)
            let listed = rows.compactMap { row -> (String, Int)? in
                guard row.count == 2, case .string(let id) = row[0], case .number(let depth) = row[1],
                    let level = Int(exactly: depth) else { return nil }
                return (id, level)
            }
            #expect(listed.map(\.0) == seed.waterfall.map(\.id), "the waterfall lists spans in start order under their parents")
            #expect(listed.map(\.1) == seed.waterfall.map(\.depth))
            #expect(try reports[10].decoded([String].self) == [], "every field of the alerts page has a label")
            #expect(reports[11].text.contains("Alert acknowledged"), "\(reports[11].text.prefix(500))")
            #expect(reports[13].text.contains("Silence created:"), "\(reports[13].text.prefix(500))")
            #expect(try reports[17].decoded([String].self) == [], "sticks out of a 420-pixel window: \(reports[17].value ?? "")")
            // The hostile values are shown as the text they are.
            #expect(reports[9].text.contains(Self.hostileScript), "\(reports[9].text.prefix(2000))")
            #expect(reports[9].text.contains(#"<img src=x onerror="#))
            #expect(reports[4].text.contains("payment failed " + Self.hostileScript))

            // What the page did is what the API says.
            let alert = try await httpGet(port, "/api/v1/alerts/\(seed.alertID)").body
            #expect(alert.contains(#""acknowledgement_message":"looking into it""#), "\(alert)")
            let silences = try await httpGet(port, "/api/v1/silences").body
            #expect(silences.contains(#""count":1"#) && silences.contains("DiskAlmostFull"), "\(silences)")
            #expect(await eventually(30) {
                ((try? await httpGet(port, "/api/v1/alerts/\(seed.alertID)").body) ?? "").contains(#""silenced":true"#)
            }, "the silence made from the page mutes the alert")
        }
    }
}

/// A JSON scalar as the browser returns it (for rows mixing strings and numbers).
enum JSONValueCodable: Decodable {
    case string(String)
    case number(Double)
    case other

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .other
        }
    }
}
