import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowTestSupport
import Testing

@Suite("What each plugin costs: CPU, runner memory, samples handed over")
struct PluginProfilingTests {
    @Test("a plugin that spins shows its CPU, in-process and isolated; an idle one shows next to none")
    func spinningPluginShowsItsCPU() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/spinner.c").path
        for name in ["spinner", "isolated", "idle"] { try compileCPlugin(source, to: directory.file("lib\(name).so")) }
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            plugins:
              - name: spinner
                path: libspinner.so
                interval: 100ms
                settings: {spin_ms: 20}
              - name: isolated
                path: libisolated.so
                isolation: process
                interval: 100ms
                settings: {spin_ms: 20}
              - name: idle
                path: libidle.so
                interval: 100ms
                settings: {spin_ms: 0}
            """)
        let logger = Logger(label: "plugin-profiling-tests")
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger,
            pluginRunner: buildProductsDirectory + "/stepflow-monitor")
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            func plugins() async throws -> [String: [String: Any]] {
                let list = try jsonObject(try await httpGet(port, "/api/v1/plugins").body)["plugins"] as? [[String: Any]] ?? []
                return Dictionary(list.compactMap { item in (item["name"] as? String).map { ($0, item) } }) { a, _ in a }
            }
            func number(_ item: [String: Any]?, _ key: String) -> Double { (item?[key] as? NSNumber)?.doubleValue ?? -1 }
            #expect(try await eventually {
                let all = try await plugins()
                return ["spinner", "isolated", "idle"].allSatisfy { number(all[$0], "calls") >= 10 }
            })
            let all = try await plugins()
            for name in ["spinner", "isolated"] {
                let calls = number(all[name], "calls")
                let cpu = number(all[name], "cpu_seconds")
                // 20 ms of CPU per call, by the plugin's own clock; the isolated runner's count includes its start.
                #expect(cpu >= calls * 0.018, "\(name): \(cpu) s of CPU over \(calls) calls")
                // Every call that returned handed over its sample; one may be in flight, and on a loaded machine a call
                // may miss its deadline (counted as a call, its samples never taken).
                let unfinished = 1 + max(0, number(all[name], "timeouts")) + max(0, number(all[name], "failures"))
                #expect(number(all[name], "samples") >= calls - unfinished, "\(name): \(String(describing: all[name]))")
                #expect(number(all[name], "bytes") > 0, "\(name)")
            }
            let idleCalls = number(all["idle"], "calls")
            #expect(number(all["idle"], "cpu_seconds") < idleCalls * 0.002, "\(String(describing: all["idle"]))")
            // Only a runner has a memory of its own.
            #expect(number(all["isolated"], "memory_bytes") > 1_000_000)
            #expect(all["spinner"]?["memory_bytes"] is NSNull)
            // The host's side of a spinning plugin's calls is small next to the plugin's own.
            #expect(number(all["spinner"], "host_cpu_seconds") < number(all["spinner"], "cpu_seconds"))

            let metrics = try await httpGet(port, "/metrics").body
            #expect(metrics.contains(#"stepflow_plugin_cpu_seconds_total{plugin="spinner"}"#))
            #expect(metrics.contains(#"stepflow_plugin_memory_bytes{plugin="isolated"}"#))
            #expect(metrics.contains(#"stepflow_job_cpu_seconds_total{job="plugin:spinner",kind="plugin"}"#))
            #expect(metrics.contains(#"stepflow_job_cpu_seconds_total{job="process",kind="builtin"}"#))

            let list = try await runProcess(
                buildProductsDirectory + "/stepflow-monitor", ["plugins", "list", "--url", "http://127.0.0.1:\(port)"])
            #expect(list.status == 0, "\(list.output)")
            let lines = list.output.split(separator: "\n")
            #expect(lines.first?.contains("CPU") == true && lines.first?.contains("MEMORY") == true)
            let isolated = try #require(lines.first { $0.hasPrefix("isolated ") })
            #expect(isolated.contains("MiB"), "\(isolated)")
        }
    }
}
