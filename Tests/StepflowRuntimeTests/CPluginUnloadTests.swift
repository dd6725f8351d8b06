import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

/// A C collector that reports the generation it was compiled as.
private func generationPlugin(_ generation: Int) -> String {
    """
    #include "stepflow_plugin.h"
    static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *s, size_t n,
                          void **out) { (void)host; (void)s; (void)n; *out = (void *)api; return STEPFLOW_OK; }
    static void destroy(void *context) { (void)context; }
    static int32_t collect(void *context, stepflow_emitter *emitter) {
        const stepflow_host_api *api = context;
        stepflow_metric metric = {0};
        metric.name = (stepflow_str){"plugin_generation", 17};
        metric.type = STEPFLOW_METRIC_GAUGE;
        metric.value = \(generation);
        return api->emit_metrics(emitter, &metric, 1);
    }
    static const stepflow_plugin_descriptor descriptor = {
        .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
        .name = "generation", .version = "\(generation).0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
        .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
    };
    const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
        (void)api;
        return &descriptor;
    }
    """
}

@Suite("Unloading C plugins", .serialized)
struct CPluginUnloadTests {
    /// Compiles generation `generation` and moves it over `target` atomically (a new inode, as an installer
    /// would; writing into a mapped library in place would corrupt the running copy).
    private func install(_ generation: Int, at target: String, in directory: TemporaryDirectory) throws {
        let source = try directory.write("generation\(generation).c", generationPlugin(generation))
        let staging = directory.file("staging-\(generation).so")
        try compileCPlugin(source, to: staging)
        try #require(rename(staging, target) == 0)
    }

    @Test("a C plugin rebuilt in place is picked up by a reload that restarts it; its old image is unloaded")
    func rebuiltPluginIsReloaded() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let library = directory.file("libgeneration.so")
        try install(1, at: library, in: directory)
        func config(_ marker: Int) -> String {
            """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              enabled: false
            scheduler:
              jitter: 0
            plugins:
              - name: generation
                path: \(library)
                interval: 1s
                settings:
                  marker: \(marker)
            """
        }
        let path = try directory.write("config.yaml", config(1))
        let logger = Logger(label: "unload-tests")
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        #expect(await eventually { (try? await runtime.metrics.engine.getMetric("plugin_generation", labels: [])) == .gauge(1) })

        try install(2, at: library, in: directory)
        _ = try directory.write("config.yaml", config(2))
        let report = await runtime.reload()
        #expect(report.restarted == ["generation"], "\(report.json.jsonText)")
        #expect(await eventually { (try? await runtime.metrics.engine.getMetric("plugin_generation", labels: [])) == .gauge(2) })
        #expect(runtime.plugins.first?.descriptor?.version == "2.0.0")

        await group.triggerGracefulShutdown()
        try await running
    }
}
