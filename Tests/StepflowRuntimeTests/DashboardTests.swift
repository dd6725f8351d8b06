import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("The dashboard page", .serialized)
struct DashboardTests {
    let logger = Logger(label: "dashboard-tests")

    @Test("/dashboard shows health, plugins, open alerts and metric families, escaped; / leads to it")
    func showsTheHost() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", testConfigYAML(directory: directory))
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            let rule = try await httpSend(port, "POST", "/api/v1/rules", body: """
                {"name": "QueueTooDeep", "query": "queue_depth", "condition": {"greater_than": 100}, "for": "0s",
                 "evaluation_interval": "1s", "severity": "critical", "annotations": {"summary": "{{ $labels.queue }} is deep"}}
                """)
            #expect(rule.status == 201, "\(rule.body)")
            let milder = try await httpSend(port, "POST", "/api/v1/rules", body: """
                {"name": "QueueSomewhatDeep", "query": "queue_depth", "condition": {"greater_than": 10}, "for": "0s",
                 "evaluation_interval": "1s", "severity": "info"}
                """)
            #expect(milder.status == 201, "\(milder.body)")
            _ = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "queue_depth", "type": "gauge", "value": 150, "labels": {"queue": "<mail&co>"}}]}
                """)
            #expect(await eventually(30) {
                let body = (try? await httpGet(port, "/api/v1/alerts?status=firing").body) ?? ""
                return body.contains("QueueTooDeep") && body.contains("QueueSomewhatDeep")
            })
            #expect(await eventually(30) {
                (try? await httpGet(port, "/api/v1/plugins").body)?.contains(#""runs":0"#) == false
            })

            let page = try await httpGet(port, "/dashboard")
            #expect(page.status == 200)
            #expect(page.contentType?.hasPrefix("text/html") == true)
            let html = page.body
            for expected in [
                "<h1>stepflow-monitor", "<h2>Health</h2>", ">storage<", "<h2>Plugins</h2>", ">filesystem<", ">system<",
                "<th>cpu</th>", "<th>memory</th>", "<h2>Open alerts</h2>", ">QueueTooDeep<", "queue=&lt;mail&amp;co&gt;", "&lt;mail&amp;co&gt; is deep",
                "<code>queue_depth</code>", "<code>node_filesystem_size_bytes</code>", #"http-equiv="refresh""#,
            ] {
                #expect(html.contains(expected), "the dashboard lacks \(expected)")
            }
            #expect(!html.contains("<mail&co>"), "an unescaped label value reached the page")
            // The most urgent alert comes first.
            let critical = try #require(html.range(of: ">QueueTooDeep<"))
            let info = try #require(html.range(of: ">QueueSomewhatDeep<"))
            #expect(critical.lowerBound < info.lowerBound)

            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/")!)
            request.httpMethod = "GET"
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.url?.path == "/dashboard")
        }
    }

    @Test(
        "in a real browser (headless Chromium): the page loads with no console error, and hostile values stay text",
        .enabled(if: ExternalTool.isCI || BrowserSession.available))
    func inABrowser() async throws {
        guard BrowserSession.available else {
            Issue.record("\(BrowserSession.missing)")
            return
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let hostile = #"<script>window.__stepflowInjected=true</script>"#
        let image = #"\"><img src=x onerror=\"window.__stepflowInjected=true\">"#
        try await withHost(directory, """
            http:
              port: 0
            plugins: []
            metrics:
              flush_interval: 50ms
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let rule = try await httpSend(port, "POST", "/api/v1/rules", body: """
                {"name": "Hostile", "query": "queue_depth", "condition": {"greater_than": 1}, "for": "0s",
                 "evaluation_interval": "200ms", "description": "javascript:window.__stepflowInjected=true",
                 "annotations": {"summary": "{{ $labels.queue }} \(image)"}}
                """)
            #expect(rule.status == 201, "\(rule.body)")
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "queue_depth", "type": "gauge", "value": 5, "labels": {"queue": "\(hostile.replacingOccurrences(of: "\"", with: "\\\""))"}}]}
                """)
            #expect(posted.status == 200, "\(posted.body)")
            #expect(await eventually(30) {
                ((try? await httpGet(port, "/api/v1/alerts?status=firing").body) ?? "").contains("Hostile")
            })
            let reports = try await BrowserSession.visit(["http://127.0.0.1:\(port)/dashboard"], name: "dashboard", in: directory)
            let page = try #require(reports.first)
            print("dashboard screenshot: \(page.screenshot)")
            #expect(page.consoleErrors.isEmpty, "\(page.consoleErrors)")
            #expect(!page.injected, "a stored value ran as script")
            #expect(page.title.hasPrefix("stepflow-monitor"), "\(page.title)")
            // The hostile values are shown as the text they are.
            #expect(page.text.contains(hostile), "\(page.text.prefix(2000))")
            #expect(page.text.contains(#"<img src=x onerror="#), "\(page.text.prefix(2000))")
            #expect(page.htmlBytes < 200_000)
            #expect(FileManager.default.fileExists(atPath: page.screenshot))
        }
    }
}

