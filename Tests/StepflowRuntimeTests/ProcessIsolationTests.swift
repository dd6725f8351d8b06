import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

/// A C collector that dereferences NULL on every call.
private let crasherPluginSource = #"""
    #include "stepflow_plugin.h"
    #include <stdlib.h>

    static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                          size_t count, void **out) {
        (void)api; (void)host; (void)settings; (void)count;
        *out = malloc(1);
        return STEPFLOW_OK;
    }

    static void destroy(void *context) { free(context); }

    static int32_t collect(void *context, stepflow_emitter *emitter) {
        (void)context; (void)emitter;
        volatile int *nowhere = NULL;
        return *nowhere;
    }

    static const stepflow_plugin_descriptor descriptor = {
        .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
        .name = "crasher", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
        .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
    };

    const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
        (void)api;
        return &descriptor;
    }
    """#

@Suite("A plugin with isolation: process", .serialized)
struct ProcessIsolationTests {
    @Test("a plugin that crashes on every call is reported unhealthy while the host and the other plugins go on")
    func crashingPluginIsContained() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try directory.write("crasher.c", crasherPluginSource)
        try compileCPlugin(source, to: directory.file("libcrasher.so"))

        let path = try directory.write(
            "config.yaml",
            testConfigYAML(
                directory: directory,
                extraPlugins: """
                      - name: crasher
                        path: libcrasher.so
                        isolation: process
                        interval: 1s
                        timeout: 5s
                    """))
        let logger = Logger(label: "process-isolation-tests")
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger,
            pluginRunner: buildProductsDirectory + "/stepflow-monitor")
        #expect(runtime.plugins.first { $0.name == "crasher" }?.error == nil)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        let port = await runtime.boundAddress.waitForPort()

        #expect(await eventually(60) { (runtime.scheduler.status(of: "plugin:crasher")?.failures ?? 0) >= 2 })
        #expect(try await eventually(60) { try await httpGet(port, "/health/plugin:crasher").status == 503 })
        let health = try await httpGet(port, "/health/plugin:crasher")
        #expect(health.body.contains("SIGSEGV"), "\(health.body)")
        #expect(health.body.contains("process"))

        let before = runtime.scheduler.status(of: "plugin:filesystem")?.runs ?? 0
        #expect(await eventually(60) { (runtime.scheduler.status(of: "plugin:filesystem")?.runs ?? 0) >= before + 2 })
        #expect(try await httpGet(port, "/health/plugin:filesystem").status == 200)
        #expect(try await httpGet(port, "/metrics").body.contains("stepflow_job_failures_total{job=\"plugin:crasher\""))

        await group.triggerGracefulShutdown()
        try await running
    }

    @Test("a plugin that crashes while loading is refused with the signal; it never touches the host")
    func crashWhileLoadingIsContained() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try directory.write("bomb.c", """
            #include "stepflow_plugin.h"
            #include <signal.h>
            const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
                (void)api;
                raise(SIGSEGV);
                return 0;
            }
            """)
        try compileCPlugin(source, to: directory.file("libbomb.so"))
        let path = try directory.write(
            "config.yaml",
            testConfigYAML(
                directory: directory,
                extraPlugins: """
                      - name: bomb
                        path: libbomb.so
                        isolation: process
                    """))
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: Logger(label: "bomb-tests"),
            pluginRunner: buildProductsDirectory + "/stepflow-monitor")
        let bomb = try #require(runtime.plugins.first { $0.name == "bomb" })
        #expect(bomb.error?.contains("SIGSEGV") == true, "\(bomb.error ?? "no error")")
        #expect(runtime.plugins.filter { $0.error == nil }.map(\.name) == ["system", "filesystem"])
    }
}
