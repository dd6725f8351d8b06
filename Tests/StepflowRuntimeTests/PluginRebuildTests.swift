import Foundation
import Logging
import StepflowConfig
import StepflowCore
import StepflowPluginHost
import StepflowRuntime
import StepflowTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12, points 2 and 3: a library rebuilt and moved into place is picked up by a reload, and a library
/// overwritten in place changes nothing in the running host (it runs a private copy).
@Suite("Rebuilding a plugin's library", .serialized)
struct PluginRebuildTests {
    let logger = Logger(label: "plugin-rebuild-tests")

    /// A C collector that reports `plugin_build` with the value `build`.
    static func source(build: Int) -> String {
        #"""
        #include "stepflow_plugin.h"
        #include <stdlib.h>

        static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                              size_t count, void **out) {
            (void)host; (void)settings; (void)count;
            *out = (void *)api;
            return STEPFLOW_OK;
        }

        static void destroy(void *context) { (void)context; }

        static int32_t collect(void *context, stepflow_emitter *emitter) {
            const stepflow_host_api *api = context;
            stepflow_metric sample = {0};
            sample.name.ptr = "plugin_build";
            sample.name.len = 12;
            sample.type = STEPFLOW_METRIC_GAUGE;
            sample.value = \#(build);
            return api->emit_metrics(emitter, &sample, 1);
        }

        static const stepflow_plugin_descriptor descriptor = {
            .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
            .name = "rebuilt", .version = "\#(build).0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
            .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
        };

        const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
            (void)api;
            return &descriptor;
        }
        """#
    }

    static func build(_ number: Int, in directory: TemporaryDirectory, to output: String) throws {
        try compileCPlugin(try directory.write("build\(number).c", source(build: number)), to: output)
    }

    @Test("a library overwritten in place does not change (or crash) the code running in the host")
    func overwrittenInPlace() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("librebuilt.so")
        try Self.build(1, in: directory, to: path)
        let plugin = try await PluginInstance(library: try PluginLibrary.load(path: path))
        #expect(try await plugin.collectMetrics().value(at: 0) == .gauge(1))
        // What `cp new.so librebuilt.so` does: the same inode, truncated and rewritten under the loaded code.
        try Self.build(2, in: directory, to: directory.file("other.so"))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: try Data(contentsOf: URL(fileURLWithPath: directory.file("other.so"))))
        try handle.close()
        for _ in 0..<3 { #expect(try await plugin.collectMetrics().value(at: 0) == .gauge(1)) }
        await plugin.shutdown()
    }

    /// Runs a host with the plugin `rebuilt` (build 1 of its library) while `body` runs; `rebuild()` puts build 2
    /// in place the way an installer does (built elsewhere, renamed over the old file: a new inode).
    func withRebuiltPlugin(
        isolation: String = "in-process",
        _ body: (_ runtime: MonitoringRuntime, _ rebuild: () throws -> Void) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("librebuilt.so")
        try Self.build(1, in: directory, to: path)
        let config = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            scheduler:
              jitter: 0
            plugins:
              - name: rebuilt
                path: \(path)
                interval: 200ms
                isolation: \(isolation)
            """)
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: config, environment: [:]), logger: logger,
            pluginRunner: buildProductsDirectory + "/stepflow-monitor")
        try await whileRunning(runtime, logger: logger) {
            #expect(await eventually { (try? await runtime.metrics.engine.getMetric("plugin_build", labels: [])) == .gauge(1) })
            try await body(runtime) {
                try Self.build(2, in: directory, to: directory.file("librebuilt.new.so"))
                #expect(rename(directory.file("librebuilt.new.so"), path) == 0)
            }
        }
    }

    @Test("a library rebuilt and moved into place is restarted by a reload, its entry unchanged", arguments: ["in-process", "process"])
    func rebuiltIsReloaded(isolation: String) async throws {
        try await withRebuiltPlugin(isolation: isolation) { runtime, rebuild in
            let unchanged = await runtime.reload()
            #expect(unchanged.unchanged == ["rebuilt"], "\(unchanged)")
            try rebuild()
            let report = await runtime.reload()
            #expect(report.restarted == ["rebuilt"], "\(report)")
            #expect(await eventually { (try? await runtime.metrics.engine.getMetric("plugin_build", labels: [])) == .gauge(2) })
        }
    }

    @Test("POST /api/v1/plugins/{name}/restart and `plugins restart NAME` restart one plugin on purpose")
    func restartOnPurpose() async throws {
        try await withRebuiltPlugin { runtime, rebuild in
            let port = await runtime.boundAddress.waitForPort()
            try rebuild()
            let restarted = try await httpSend(port, "POST", "/api/v1/plugins/rebuilt/restart", body: "")
            #expect(restarted.status == 200 && restarted.body.contains(#""restarted":["rebuilt"]"#), "\(restarted.body)")
            #expect(await eventually { (try? await runtime.metrics.engine.getMetric("plugin_build", labels: [])) == .gauge(2) })
            let unknown = try await httpSend(port, "POST", "/api/v1/plugins/nobody/restart", body: "")
            #expect(unknown.status == 404 && unknown.body.contains("no configured plugin is named 'nobody'"), "\(unknown.body)")
            let command = try await offPool {
                try ChildProcess.run(buildProductsDirectory + "/stepflow-monitor", [
                    "plugins", "restart", "rebuilt", "--url", "http://127.0.0.1:\(port)",
                ])
            }
            #expect(command.status == 0 && command.output.contains("plugin rebuilt restarted"), "\(command.output)")
        }
    }
}
