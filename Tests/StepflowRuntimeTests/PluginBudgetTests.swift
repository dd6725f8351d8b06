import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

@Suite("Plugin budgets", .serialized)
struct PluginBudgetTests {
    @Test("samples of series past a plugin's series budget are cut and counted; the budgeted series are kept")
    func seriesBudget() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            scheduler:
              jitter: 0
            plugins:
              - name: filesystem
                path: libStepflowFilesystemCollector.so
                interval: 1s
                budgets:
                  series: 3
                settings:
                  paths: "/,\(directory.path)"
            """)
        let logger = Logger(label: "budget-tests")
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        let port = await runtime.boundAddress.waitForPort()
        #expect(await eventually { (runtime.scheduler.status(of: "plugin:filesystem")?.runs ?? 0) >= 2 })
        let stored = try await runtime.metrics.engine.listMetrics(filter: MetricFilter(namePrefix: "node_filesystem_"))
        #expect(stored.count == 3, "\(stored.map(\.name))")
        // Two paths × five metrics = 10 series per collection; 7 are cut each time. The cut is counted once the
        // collection's samples are handed over, a moment after the scheduler counts the run: poll for it.
        func refused() async -> Double? {
            let body = (try? await httpGet(port, "/metrics").body) ?? ""
            let line = body.split(separator: "\n").first {
                $0.hasPrefix("stepflow_plugin_series_refused_total{isolation=\"in-process\",plugin=\"filesystem\"}")
            }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        #expect(await eventually { (await refused() ?? 0) >= 14 })
        let body = try await httpGet(port, "/metrics").body
        #expect(body.contains("stepflow_plugin_series{isolation=\"in-process\",plugin=\"filesystem\"} 3"))
        let counted = try #require(await refused())
        #expect(counted.truncatingRemainder(dividingBy: 7) == 0)
        await group.triggerGracefulShutdown()
        try await running
    }
}
