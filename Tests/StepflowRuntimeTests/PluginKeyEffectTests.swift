import Foundation
import Logging
import StepflowRuntime
import StepflowTestSupport
import Testing

/// A C collector whose one call does what its `MODE_*` define says: emit 50 samples (`MODE_EMIT`), spin forever
/// (`MODE_SPIN`), ask for 1.5 GiB and free it (`MODE_ALLOC`) or fail (`MODE_FAIL`).
private func keyFixtureSource(mode: String, name: String) -> String {
    """
    #define \(mode) 1
    #include "stepflow_plugin.h"
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>

    typedef struct { const stepflow_host_api *api; stepflow_host *host; } ctx;
    static stepflow_str S(const char *text) { stepflow_str s = { text, strlen(text) }; return s; }

    static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *s, size_t n,
                          void **out) {
        (void)s; (void)n;
        ctx *c = calloc(1, sizeof *c);
        c->api = api;
        c->host = host;
        *out = c;
        return STEPFLOW_OK;
    }
    static void destroy(void *context) { free(context); }

    static int32_t collect(void *opaque, stepflow_emitter *emitter) {
        ctx *c = opaque;
    #if defined(MODE_SPIN)
        for (volatile unsigned long spin = 0;; spin++) {}
    #elif defined(MODE_ALLOC)
        void *block = malloc((size_t)1536 << 20);
        if (!block) {
            c->api->set_error(c->host, S("malloc refused 1.5 GiB"));
            return STEPFLOW_ERR_NOMEM;
        }
        free(block);
        return STEPFLOW_OK;
    #elif defined(MODE_FAIL)
        c->api->set_error(c->host, S("the key fixture fails on purpose"));
        return STEPFLOW_ERR_FAILED;
    #endif
        static char values[50][4];
        stepflow_label labels[50];
        stepflow_metric metrics[50];
        memset(metrics, 0, sizeof metrics);
        for (int i = 0; i < 50; i++) {
            snprintf(values[i], sizeof values[i], "%d", i);
            labels[i].name = S("i");
            labels[i].value = S(values[i]);
            metrics[i].name = S("key_fixture_sample");
            metrics[i].type = STEPFLOW_METRIC_GAUGE;
            metrics[i].value = i;
            metrics[i].labels = &labels[i];
            metrics[i].label_count = 1;
        }
        return c->api->emit_metrics(emitter, metrics, 50);
    }

    static const stepflow_plugin_descriptor descriptor = {
        .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
        .name = "\(name)", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
        .default_interval_ms = 200, .create = create, .destroy = destroy, .collect_metrics = collect,
    };
    const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
        (void)api;
        return &descriptor;
    }
    """
}

/// Issue 17, point 4, continued: the plugin keys no other test sets in YAML for a running host. The table of
/// every key and its test is `Tests/StepflowConfigTests/KeyEffectTableTests.swift`.
@Suite("Plugin keys change how the host runs a plugin", .serialized)
struct PluginKeyEffectTests {
    @Test("enabled, budgets.metrics_per_collection, and limits.memory, limits.cpu_time and limits.recycle_after_failures of a runner")
    func pluginKeys() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (mode, name) in [("MODE_EMIT", "emitter"), ("MODE_SPIN", "spinner"), ("MODE_ALLOC", "allocator"), ("MODE_FAIL", "failer")] {
            let source = try directory.write("\(name).c", keyFixtureSource(mode: mode, name: name))
            try compileCPlugin(source, to: directory.file("lib\(name).so"))
        }
        let plugin = { (name: String) in directory.file("lib\(name).so") }
        try await withHost(directory, """
            http:
              port: 0
            plugins:
              - {name: emitter, path: \(plugin("emitter")), budgets: {metrics_per_collection: 10}}
              - {name: unused, path: \(plugin("emitter")), enabled: false}
              - {name: spinner, path: \(plugin("spinner")), isolation: process, timeout: 20s, limits: {cpu_time: 1s}}
              - {name: allocator, path: \(plugin("allocator")), isolation: process, limits: {memory: 1GiB}}
              - {name: unlimited, path: \(plugin("allocator")), isolation: process}
              - {name: failer, path: \(plugin("failer")), isolation: process, limits: {recycle_after_failures: 2}}
            """, logger: Logger(label: "plugin-key-tests")) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            func exposition() async -> String { (try? await httpGet(port, "/metrics").body) ?? "" }
            func job(_ name: String) -> JobStatusSummary? {
                runtime.scheduler.status(of: "plugin:\(name)").map { JobStatusSummary(runs: $0.runs, failures: $0.failures, lastError: $0.lastError) }
            }

            // enabled: false: listed, never scheduled.
            #expect(job("unused") == nil)
            #expect(job("emitter") != nil)

            // budgets.metrics_per_collection 10: ten of the fifty samples of a collection are kept.
            let samples = { await exposition().split(separator: "\n").filter { $0.hasPrefix("key_fixture_sample{") } }
            var seen: [Substring] = []
            #expect(await eventually(20) {
                seen = await samples()
                return seen.count == 10
            }, "\(seen)")

            // limits.cpu_time 1s: the spinning runner is stopped by the kernel after a second of CPU, not by the
            // call's 20 s timeout.
            // (The runner sets the soft and hard limits alike, so the kernel's signal may be SIGKILL.)
            let started = ContinuousClock.now
            #expect(await eventually(15) { ["(SIGKILL)", "(SIGXCPU)"].contains { job("spinner")?.lastError?.contains($0) == true } }, "\(String(describing: job("spinner")))")
            #expect(ContinuousClock.now - started < .seconds(15))

            // limits.memory 1GiB: the runner cannot get 1.5 GiB; without the limit the same library can.
            #expect(await eventually(20) { job("allocator")?.lastError?.contains("STEPFLOW_ERR_NOMEM") == true }, "\(String(describing: job("allocator")))")
            #expect(await eventually(20) { (job("unlimited")?.runs ?? 0) >= 2 && job("unlimited")?.failures == 0 }, "\(String(describing: job("unlimited")))")

            // limits.recycle_after_failures 2: the runner is restarted after two failed calls in a row (the
            // default waits for five).
            #expect(await eventually(30) {
                job("failer")?.lastError?.contains("2 calls in a row failed (limits.recycle_after_failures is 2)") == true
            }, "\(String(describing: job("failer")))")
        }
    }

    /// What the test reads of a job's status.
    struct JobStatusSummary: Sendable, CustomStringConvertible {
        var runs: UInt64
        var failures: UInt64
        var lastError: String?
        var description: String { "runs \(runs), failures \(failures), last error \(lastError ?? "none")" }
    }
}
