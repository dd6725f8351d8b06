import Logging
import StepflowTestSupport
import StepflowPluginHost
import Testing

@Suite("What plugins log")
struct PluginLoggingTests {
    @Test("a plugin's log line reaches the host logger at its level, tagged with the instance name")
    func logLineIsTagged() async throws {
        let (logger, store) = CapturingLogHandler.logger()
        let instance = try await PluginInstance(
            library: PluginLibrary.load(path: PluginFixtures.filesystemCollector()), name: "disks",
            settings: ["paths": .string("/, /nonexistent-mount")], logger: logger)
        _ = try await instance.collectMetrics()
        await instance.shutdown()
        let record = try #require(store.all.first { $0.message.contains("/nonexistent-mount") })
        #expect(record.level == .warning)
        #expect(record.metadata["plugin"] == "disks")
    }

    /// A collector whose thread calls `set_error` after `collect_metrics` returned; `collect` waits for the
    /// previous thread first, so each call leaves exactly one late message behind.
    static let lateSetError = #"""
        #include "stepflow_plugin.h"
        #include <pthread.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>

        typedef struct { const stepflow_host_api *api; stepflow_host *host; pthread_t thread; int started; } late;

        static void *complain(void *opaque) {
            late *self = opaque;
            usleep(20000);
            stepflow_str message = {"disk vanished after the call", 28};
            self->api->set_error(self->host, message);
            return NULL;
        }

        static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                              size_t count, void **out) {
            (void)settings; (void)count;
            late *self = calloc(1, sizeof *self);
            self->api = api; self->host = host;
            *out = self;
            return STEPFLOW_OK;
        }

        static void destroy(void *opaque) {
            late *self = opaque;
            if (self->started) pthread_join(self->thread, NULL);
            free(self);
        }

        static int32_t collect(void *opaque, stepflow_emitter *emitter) {
            (void)emitter;
            late *self = opaque;
            if (self->started) pthread_join(self->thread, NULL);
            self->started = pthread_create(&self->thread, NULL, complain, self) == 0;
            return STEPFLOW_OK;
        }

        static const stepflow_plugin_descriptor descriptor = {
            .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
            .name = "late_error", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
            .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
        };

        const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
            (void)api;
            return &descriptor;
        }
        """#

    @Test("a set_error from a plugin thread between calls is logged as a warning, once a minute at most, not dropped")
    func lateSetErrorIsLogged() async throws {
        let library = try CSourceCompiler.build(Self.lateSetError, name: "late_error", flags: ["-lpthread"])
        let (logger, store) = CapturingLogHandler.logger()
        let instance = try await PluginInstance(library: PluginLibrary.load(path: library), name: "late", logger: logger)
        _ = try await instance.collectMetrics()
        func warnings() -> [CapturingLogHandler.Record] {
            store.all.filter { $0.message.contains("set_error between calls") && $0.level == .warning }
        }
        #expect(await eventually(10) { !warnings().isEmpty })
        #expect(warnings().first?.message.contains("disk vanished after the call") == true)
        #expect(warnings().first?.metadata["plugin"] == "late")
        // Three more late messages within the minute: counted, not logged one by one.
        for _ in 0..<3 { _ = try await instance.collectMetrics() }
        await instance.shutdown()
        #expect(warnings().count == 1, "\(warnings().map(\.message))")
        // A later call that succeeds is not failed by the message left behind.
        #expect(store.all.allSatisfy { $0.level != .error })
    }
}
