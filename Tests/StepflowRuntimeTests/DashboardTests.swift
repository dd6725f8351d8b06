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
}
