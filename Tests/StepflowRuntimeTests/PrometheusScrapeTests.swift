import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowRuntime
import StepflowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("A real Prometheus scraping /metrics", .serialized)
struct PrometheusScrapeTests {
    @Test(
        "Prometheus scrapes the host: the target is up, with no scrape error, and its series are queryable",
        .enabled(if: ExternalTool.runnable("prometheus")))
    func realScrape() async throws {
        let prometheus = try #require(ExternalTool.path("prometheus"), "\(ExternalTool.missing("prometheus", package: "prometheus"))")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let configPath = try directory.write("config.yaml", testConfigYAML(directory: directory))
        let logger = Logger(label: "scrape-tests")
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: configPath, environment: [:]), logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        let hostPort = await runtime.boundAddress.waitForPort()

        let prometheusPort = try freeTCPPort()
        let scrapeConfig = try directory.write("prometheus.yml", """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: stepflow
                static_configs:
                  - targets: ["127.0.0.1:\(hostPort)"]
            """)
        let process = try startPrometheus(prometheus, config: scrapeConfig, directory: directory, port: prometheusPort)
        defer { stopServer(process) }

        func query(_ expression: String) async throws -> [[String: Any]] { try await prometheusQuery(prometheusPort, expression) }
        func value(_ sample: [String: Any]) -> String? { (sample["value"] as? [Any])?.last as? String }

        #expect(await eventually(60) { (try? await query("up{job=\"stepflow\"}"))?.first.flatMap(value) == "1" })
        let targets = try await httpGet(prometheusPort, "/api/v1/targets").body
        #expect(targets.contains("\"health\":\"up\""), "\(targets)")
        #expect(targets.contains("\"lastError\":\"\""), "\(targets)")
        #expect(await eventually(30) { !((try? await query("node_filesystem_size_bytes{mountpoint=\"/\"}")) ?? []).isEmpty })
        #expect(!(try await query("process_cpu_seconds_total")).isEmpty)
        #expect(!(try await query("stepflow_job_duration_seconds_bucket{le=\"+Inf\"}")).isEmpty)
        #expect(try await query("scrape_samples_scraped{job=\"stepflow\"}").first.flatMap(value).flatMap(Double.init) ?? 0 > 50)

        stopServer(process)
        await group.triggerGracefulShutdown()
        try await running
    }
}
