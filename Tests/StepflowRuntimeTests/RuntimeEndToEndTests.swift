import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowStorage
import StepflowTestSupport
import Testing

@Suite("The host, end to end", .serialized)
struct RuntimeEndToEndTests {
    let logger = Logger(label: "runtime-tests")

    @Test("loads both example plugins, serves their metrics and health over HTTP, and keeps them after shutdown")
    func endToEnd() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", testConfigYAML(directory: directory))
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        #expect(runtime.plugins.map(\.name) == ["system", "filesystem"])
        #expect(runtime.plugins.allSatisfy { $0.error == nil }, "\(runtime.plugins.compactMap(\.error))")

        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        let port = await runtime.boundAddress.waitForPort()

        #expect(try await eventually {
            let body = try await httpGet(port, "/metrics").body
            return body.contains("node_load1 ") && body.contains("node_filesystem_size_bytes{")
                && body.contains("process_cpu_seconds_total ")
        })
        let metrics = try await httpGet(port, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(metrics.body.contains("node_filesystem_size_bytes{mountpoint=\"/\"}"))
        #expect(metrics.body.contains("stepflow_job_runs_total{job=\"plugin:system\",kind=\"plugin\"}"))
        #expect(metrics.body.contains("# TYPE process_cpu_seconds_total counter"))
        let sampleLines = metrics.body.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").first! }
        #expect(Set(sampleLines).count == sampleLines.count, "a series appears twice on /metrics")
        let typeLines = metrics.body.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
        #expect(Set(typeLines).count == typeLines.count, "a family appears twice on /metrics")
        if let promtool = ExternalTool.require("promtool", package: "prometheus") {
            let check = try await runProcess(promtool, ["check", "metrics"], input: metrics.body)
            #expect(check.status == 0 || check.status == 3, "promtool: \(check.output)")
        }

        #expect(try await eventually {
            let body = try await httpGet(port, "/health").body
            return body.contains("\"plugin:filesystem\":{") && body.contains("\"status\":\"healthy\"")
                && !body.contains("first run not due yet") && !body.contains("first call in progress")
        })
        // Both plugins have run once (a job not yet due is healthy too, so /health alone does not say so).
        #expect(try await eventually {
            let body = try await httpGet(port, "/api/v1/plugins").body
            return body.components(separatedBy: "\"state\":\"ok\"").count == 3
        })
        let health = try await httpGet(port, "/health")
        #expect(health.status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any])
        #expect(json["status"] as? String == "healthy")
        let components = try #require(json["components"] as? [String: Any])
        #expect(Set(components.keys) == ["storage", "scheduler", "process", "retention", "aggregation", "alerts", "plugin:system", "plugin:filesystem"])
        let filesystem = try #require(components["plugin:filesystem"] as? [String: Any])
        let details = try #require(filesystem["details"] as? [String: Any])
        #expect(details["isolation"] as? String == "in-process")
        #expect(details["restarts"] as? Int == 0)
        #expect((details["series"] as? Int ?? 0) >= 5)
        #expect(try await httpGet(port, "/health/live").status == 200)
        #expect(try await httpGet(port, "/health/storage").body.contains("\"status\":\"healthy\""))
        #expect(try await httpGet(port, "/health/nope").status == 404)

        let list = try await httpGet(port, "/api/v1/plugins")
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(list.body.utf8)) as? [String: Any])
        let plugins = try #require(listed["plugins"] as? [[String: Any]])
        #expect(plugins.compactMap { $0["name"] as? String } == ["filesystem", "system"])
        #expect(plugins.allSatisfy { $0["isolation"] as? String == "in-process" })
        // A plugin shows `running` while a call is in flight: poll until both are between calls, and ok.
        #expect(await eventually {
            let again = try? JSONSerialization.jsonObject(with: Data((try await httpGet(port, "/api/v1/plugins")).body.utf8))
            let states = ((again as? [String: Any])?["plugins"] as? [[String: Any]])?.map { $0["state"] as? String }
            return states == ["ok", "ok"]
        })
        #expect(metrics.body.contains("stepflow_job_duration_seconds_bucket{job=\"plugin:system\",kind=\"plugin\",le=\"+Inf\"}"))

        await group.triggerGracefulShutdown()
        try await running
        let store = MetricStore(database: runtime.storage.database)
        await #expect(try store.count(name: "node_load1") >= 1)
        await #expect(try store.count(name: "node_filesystem_avail_bytes") >= 2)
        #expect(runtime.metrics.queue.depth == 0)
    }

    @Test("a plugin that cannot be loaded is refused with its reason, shown unhealthy in /health, the host degraded but ready; the rest run")
    func refusedPlugin() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", testConfigYAML(directory: directory, extraPlugins: """
              - name: ghost
                path: libDoesNotExist.so
            """))
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        let ghost = try #require(runtime.plugins.first { $0.name == "ghost" })
        #expect(ghost.error?.contains("libDoesNotExist.so") == true)
        #expect(runtime.plugins.filter { $0.error == nil }.count == 2)

        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        let port = await runtime.boundAddress.waitForPort()
        // A plugin that failed makes the host degraded, not unready (issue 12): it still serves and stores.
        let health = try await httpGet(port, "/health")
        #expect(health.status == 200)
        #expect(health.body.contains("\"status\":\"degraded\""), "\(health.body)")
        #expect(health.body.contains("\"plugin:ghost\":{"))
        #expect(health.body.contains("not loaded"))
        #expect(try await httpGet(port, "/health/ready").status == 200)
        #expect(try await httpGet(port, "/health/plugin:ghost").status == 503)
        // Every configured plugin shows on /metrics, loaded or not (issue 12).
        let metrics = try await httpGet(port, "/metrics").body
        #expect(metrics.contains("stepflow_plugin_up{plugin=\"ghost\"} 0"), "\(metrics)")
        #expect(metrics.contains("stepflow_plugin_up{plugin=\"system\"} 1"))
        #expect(metrics.contains("stepflow_plugin_load_failures_total{plugin=\"ghost\",reason=\"not_found\"} 1"))
        let list = try await httpGet(port, "/api/v1/plugins").body
        #expect(list.contains("\"state\":\"refused\""))
        #expect(list.contains("libDoesNotExist.so"))
        await group.triggerGracefulShutdown()
        try await running
    }

    @Test("graceful shutdown writes every sample accepted before it, losing none")
    func shutdownLosesNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              enabled: false
            metrics:
              flush_interval: 1h
            """)
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        for index in 0..<2500 {
            try await runtime.metrics.engine.incrementCounter("shutdown_test_total", by: 1, labels: [Label("shard", "\(index % 7)")])
        }
        // An embedding application's swift-metrics counter, counted just before shutdown, is stored too.
        Counter(label: "app.orders_total", factory: runtime.metricsFactory).increment(by: 11)
        await group.triggerGracefulShutdown()
        try await running
        await #expect(try MetricStore(database: runtime.storage.database).count(name: "shutdown_test_total") == 2500)
        await #expect(try MetricStore(database: runtime.storage.database).samples(name: "app_orders_total").last?.value == .counter(11))


    }

    @Test("a database file that is not SQLite stops the host with a clear error and is left untouched")
    func refusesBadDatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try directory.write("monitoring.sqlite", "not a database")
        let path = try directory.write("config.yaml", "storage:\n  path: \(database)\n")
        let error = await #expect(throws: MonitoringError.self) {
            _ = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        }
        #expect(error?.message.contains("is not a SQLite database") == true)
        #expect(try String(contentsOfFile: database, encoding: .utf8) == "not a database")
    }
}
