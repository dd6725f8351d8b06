import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

/// A C collector whose collect_metrics sleeps for the `sleep_ms` setting before emitting one gauge.
private let sleepyPluginSource = #"""
#include "stepflow_plugin.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { const stepflow_host_api *api; long sleep_ms; } sleepy;

static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                      size_t count, void **out) {
    (void)host;
    sleepy *self = calloc(1, sizeof *self);
    self->api = api;
    for (size_t i = 0; i < count; i++) {
        if (settings[i].name.len == 8 && memcmp(settings[i].name.ptr, "sleep_ms", 8) == 0) {
            char text[32] = {0};
            memcpy(text, settings[i].value.ptr, settings[i].value.len < 31 ? settings[i].value.len : 31);
            self->sleep_ms = atol(text);
        }
    }
    *out = self;
    return STEPFLOW_OK;
}

static void destroy(void *context) { free(context); }

static int32_t collect(void *context, stepflow_emitter *emitter) {
    sleepy *self = context;
    usleep((useconds_t)(self->sleep_ms * 1000));
    stepflow_metric metric = {0};
    metric.name = (stepflow_str){"sleepy_done", 11};
    metric.type = STEPFLOW_METRIC_GAUGE;
    metric.value = 1;
    return self->api->emit_metrics(emitter, &metric, 1);
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "sleepy", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
    .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
    (void)api;
    return &descriptor;
}
"""#

@Suite("A plugin stuck in a call", .serialized)
struct StuckPluginTests {
    @Test("is reported unhealthy after its deadline while the other plugins keep their schedule, and does not hold up shutdown")
    func stuckPluginIsContained() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try directory.write("sleepy.c", sleepyPluginSource)
        try compileCPlugin(source, to: directory.file("libsleepy.so"))

        let path = try directory.write("config.yaml", testConfigYAML(directory: directory, extraPlugins: """
              - name: sleepy
                path: libsleepy.so
                interval: 1s
                timeout: 500ms
                settings:
                  sleep_ms: 60000
            """))
        let logger = Logger(label: "stuck-tests")
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        let port = await runtime.boundAddress.waitForPort()

        #expect(await eventually { runtime.scheduler.status(of: "plugin:sleepy")?.timeouts == 1 })
        let health = try await httpGet(port, "/health/plugin:sleepy")
        #expect(health.status == 503)
        #expect(health.body.contains("missed its deadline"))
        // The healthy plugins go on being called on their 1s interval: the next 10 calls take 10 s within ±10 % (and
        // the scheduler's jitter), plus one interval for where the first call falls.
        let clock = ContinuousClock()
        let before = runtime.scheduler.status(of: "plugin:filesystem")?.runs ?? 0
        let windowStart = clock.now
        #expect(await eventually(60) { (runtime.scheduler.status(of: "plugin:filesystem")?.runs ?? 0) >= before + 10 })
        let elapsed = windowStart.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        #expect(abs(seconds - 10) <= 10 * 0.1 + 1, "10 calls at a 1s interval took \(elapsed)")
        #expect(runtime.scheduler.status(of: "plugin:sleepy")?.runs == 1)
        #expect(try await httpGet(port, "/metrics").body.contains("stepflow_job_timeouts_total{job=\"plugin:sleepy\",kind=\"plugin\"} 1"))

        let start = clock.now
        await group.triggerGracefulShutdown()
        try await running
        #expect(start.duration(to: clock.now) < .seconds(30), "shutdown waited for the stuck plugin")
    }
}
