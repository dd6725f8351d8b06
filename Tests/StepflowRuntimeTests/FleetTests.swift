import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowTestSupport
import Testing

/// Issue 17, point 5: a fleet of hosts writing to one backend. Three hosts with different `host` external labels
/// remote-write the same series names to one real Prometheus 2.42; each host's series must arrive distinct and
/// complete (docs/scaling.md).
@Suite("A fleet of hosts, one Prometheus", .serialized)
struct FleetTests {
    let logger = Logger(label: "fleet-tests")

    @Test(
        "three hosts with different host labels remote-write node_load1 to one Prometheus: three series, every sample",
        .enabled(if: ExternalTool.runnable("prometheus")))
    func threeHostsOnePrometheus() async throws {
        let prometheus = try #require(ExternalTool.path("prometheus"), "\(ExternalTool.missing("prometheus", package: "prometheus"))")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prometheusPort = try freeTCPPort()
        let scrapeConfig = try directory.write("prometheus.yml", "global:\n  scrape_interval: 1m\n")
        let process = try startPrometheus(
            prometheus, config: scrapeConfig, directory: directory, port: prometheusPort,
            extra: ["--web.enable-remote-write-receiver"])
        defer { stopServer(process) }

        var runtimes: [MonitoringRuntime] = []
        for name in ["node-a", "node-b", "node-c"] {
            let path = try directory.write("\(name).yaml", """
                storage:
                  path: \(directory.file("\(name).sqlite"))
                http:
                  port: 0
                metrics:
                  enable_export: true
                  export_interval: 1s
                  flush_interval: 50ms
                exporters:
                  external_labels:
                    host: \(name)
                    fleet: test
                  prometheus:
                    enabled: true
                    endpoint: http://127.0.0.1:\(prometheusPort)/api/v1/write
                plugins: []
                """)
            runtimes.append(try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger))
        }
        let now = (Int(Date().timeIntervalSince1970) - 120) * 1_000
        try await whileRunning(runtimes[0], logger: logger) {
            try await whileRunning(runtimes[1], logger: logger) {
                try await whileRunning(runtimes[2], logger: logger) {
                    for (index, runtime) in runtimes.enumerated() {
                        let port = await runtime.boundAddress.waitForPort()
                        // The exporter starts at the newest stored sample: wait for its first run.
                        #expect(await eventually(30) {
                            let text = (try? await httpGet(port, "/metrics").body) ?? ""
                            return text.contains(#"stepflow_job_runs_total{job="exporter:prometheus",kind="builtin"} "#)
                                && !text.contains(#"stepflow_job_runs_total{job="exporter:prometheus",kind="builtin"} 0"#)
                        })
                        // The same series name and labels on every host, 20 samples each, same timestamps.
                        let samples = (0..<20).map { step in
                            #"{"name": "node_load1", "type": "gauge", "value": \#(index * 100 + step), "timestamp": \#(now + step * 5_000)}"#
                        }
                        let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [\#(samples.joined(separator: ","))]}"#)
                        #expect(posted.status == 200 || posted.status == 202, "\(posted.body)")
                    }
                    func value(_ expression: String) async -> String? { await prometheusValue(prometheusPort, expression) }
                    #expect(await eventually(60) { await value(#"count(count_over_time(node_load1{fleet="test"}[10m]))"#) == "3" })
                    for (index, name) in ["node-a", "node-b", "node-c"].enumerated() {
                        #expect(await eventually(30) {
                            await value(#"count_over_time(node_load1{host="\#(name)"}[10m])"#) == "20"
                        }, "every sample of \(name)")
                        #expect(await value(#"max_over_time(node_load1{host="\#(name)"}[10m])"#) == "\(index * 100 + 19)")
                    }
                    // Stored locally without the external labels: the host's own API shows none.
                    let port = await runtimes[0].boundAddress.waitForPort()
                    let series = try await httpGet(port, "/api/v1/metrics?name=node_load1").body
                    #expect(series.contains("node_load1"), "\(series.prefix(400))")
                    #expect(!series.contains("node-a") && !series.contains("fleet"), "\(series.prefix(400))")
                }
            }
        }
    }
}
