import Foundation
import StepflowCore
import StepflowPluginHost
import Testing

/// A C collector that registers its series once in `create` (host API 1.1) and hands over only values.
///
/// `create` checks what registration answers (a repeat gets the same number; a bad name, a histogram and NULL
/// arguments are refused with 0) and fails with the reason when an answer is wrong. Setting `mode`:
/// - `values`: every registered series' value, one `emit_metrics` sample, then a series registered during the
///   collection and its value;
/// - `garbage`: values of unknown series, a negative and a NaN counter, a negative timestamp, a NaN gauge, and one
///   valid value;
/// - `five`: five values of registered series.
private let registeringSource = #"""
    #include "stepflow_plugin.h"
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>

    typedef struct { const stepflow_host_api *api; stepflow_host *host; char mode[16];
                     stepflow_series eth[3], temp, late; long calls; } rs;

    static stepflow_str S(const char *text) { stepflow_str s = { text, strlen(text) }; return s; }

    static int fail(rs *c, const char *message) {
        c->api->set_error(c->host, S(message));
        return STEPFLOW_ERR_FAILED;
    }

    static int32_t rs_create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                             size_t count, void **out) {
        rs *c = calloc(1, sizeof *c);
        c->api = api; c->host = host;
        for (size_t i = 0; i < count; i++)
            if (settings[i].name.len == 4 && memcmp(settings[i].name.ptr, "mode", 4) == 0 && settings[i].value.len < 16)
                memcpy(c->mode, settings[i].value.ptr, settings[i].value.len);
        *out = c;
        if (!STEPFLOW_HOST_HAS(api, emit_values)) return fail(c, "the host has no register_series");
        static const char *devices[3] = { "eth0", "eth1", "eth2" };
        for (int i = 0; i < 3; i++) {
            stepflow_label labels[2] = { { S("device"), S(devices[i]) }, { S("host"), S("a") } };
            stepflow_metric m = { .name = S("rs_receive_bytes_total"), .help = S("Bytes received."),
                                  .type = STEPFLOW_METRIC_COUNTER, .labels = labels, .label_count = 2 };
            if (api->register_series(host, &m, &c->eth[i]) != STEPFLOW_OK || c->eth[i] == 0)
                return fail(c, "a valid counter was not registered");
        }
        stepflow_metric temp = { .name = S("rs_temperature_celsius"), .type = STEPFLOW_METRIC_GAUGE };
        if (api->register_series(host, &temp, &c->temp) != STEPFLOW_OK) return fail(c, "a valid gauge was not registered");
        /* The same series again, labels in another order: the same number. */
        stepflow_label swapped[2] = { { S("host"), S("a") }, { S("device"), S("eth1") } };
        stepflow_metric again = { .name = S("rs_receive_bytes_total"), .help = S("Bytes received."),
                                  .type = STEPFLOW_METRIC_COUNTER, .labels = swapped, .label_count = 2 };
        stepflow_series repeat = 0;
        if (api->register_series(host, &again, &repeat) != STEPFLOW_OK || repeat != c->eth[1])
            return fail(c, "a repeated registration got another number");
        stepflow_series refused = 99;
        stepflow_metric bad = { .name = S("9bad"), .type = STEPFLOW_METRIC_GAUGE };
        if (api->register_series(host, &bad, &refused) != STEPFLOW_ERR_INVALID || refused != 0)
            return fail(c, "a bad name was registered");
        stepflow_metric histogram = { .name = S("rs_latency_seconds"), .type = STEPFLOW_METRIC_HISTOGRAM };
        if (api->register_series(host, &histogram, &refused) != STEPFLOW_ERR_INVALID)
            return fail(c, "a histogram was registered");
        if (api->register_series(host, NULL, &refused) != STEPFLOW_ERR_INVALID || api->register_series(host, &temp, NULL) != STEPFLOW_ERR_INVALID)
            return fail(c, "NULL arguments were accepted");
        if (strcmp(c->mode, "conflict") == 0) {
            /* A registered counter cannot come back as a gauge. */
            stepflow_metric gauge = again;
            gauge.type = STEPFLOW_METRIC_GAUGE;
            if (api->register_series(host, &gauge, &refused) != STEPFLOW_ERR_INVALID || refused != 0)
                return fail(c, "a counter was registered again as a gauge");
            for (int i = 0; i < 1000; i++)
                if (api->register_series(host, &again, &repeat) != STEPFLOW_OK || repeat != c->eth[1])
                    return fail(c, "a repeat changed its number");
        }
        return STEPFLOW_OK;
    }

    static void rs_destroy(void *context) { free(context); }

    static int32_t rs_collect(void *context, stepflow_emitter *emitter) {
        rs *c = context;
        c->calls++;
        if (strcmp(c->mode, "garbage") == 0) {
            stepflow_value values[7] = {
                { .series = 0, .value = 1 }, { .series = 999, .value = 1 }, { .series = c->eth[0], .value = -1 },
                { .series = c->eth[1], .value = __builtin_nan("") }, { .series = c->eth[2], .value = 5, .timestamp_ms = -4 },
                { .series = c->temp, .value = __builtin_nan("") }, { .series = c->eth[2], .value = 5 } };
            return c->api->emit_values(emitter, values, 7);
        }
        if (strcmp(c->mode, "five") == 0) {
            stepflow_value values[5] = { { .series = c->eth[0], .value = 1 }, { .series = c->eth[1], .value = 2 },
                { .series = c->eth[2], .value = 3 }, { .series = c->temp, .value = 4 }, { .series = c->temp, .value = 5 } };
            return c->api->emit_values(emitter, values, 5);
        }
        stepflow_value values[4] = {
            { .series = c->eth[0], .value = 100.0 * c->calls }, { .series = c->eth[1], .value = 200.0 * c->calls },
            { .series = c->eth[2], .value = 300.0 * c->calls }, { .series = c->temp, .value = -3.5, .timestamp_ms = 1700000000000 } };
        int32_t status = c->api->emit_values(emitter, values, 4);
        if (status != STEPFLOW_OK) return status;
        stepflow_label label = { S("kind"), S("plain") };
        stepflow_metric plain = { .name = S("rs_plain"), .type = STEPFLOW_METRIC_GAUGE, .value = 1, .labels = &label, .label_count = 1 };
        if ((status = c->api->emit_metrics(emitter, &plain, 1)) != STEPFLOW_OK) return status;
        stepflow_label device = { S("device"), S("eth9") };
        stepflow_metric late = { .name = S("rs_receive_bytes_total"), .help = S("Bytes received."),
                                 .type = STEPFLOW_METRIC_COUNTER, .labels = &device, .label_count = 1 };
        if ((status = c->api->register_series(c->host, &late, &c->late)) != STEPFLOW_OK) return status;
        stepflow_value last = { .series = c->late, .value = 9 };
        return c->api->emit_values(emitter, &last, 1);
    }

    static const stepflow_plugin_descriptor descriptor = {
        .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
        .name = "registering", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
        .default_interval_ms = 1000, .create = rs_create, .destroy = rs_destroy, .collect_metrics = rs_collect };

    const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) { (void)api; return &descriptor; }
    """#

/// The plugin, compiled once per test process.
private let registeringPlugin = Result { try CSourceCompiler.build(registeringSource, name: "registering") }

/// One collection from the plugin, in-process or in a runner.
private func collect(
    mode: String, isolated: Bool, sampleBudget: Int = PluginInstance.defaultSampleBudget, times: Int = 1
) async throws -> (batches: [MetricBatch], refused: [MetricRefusalReason: Int]) {
    let path = try registeringPlugin.get()
    var batches: [MetricBatch] = []
    if isolated {
        let plugin = try await RunnerFixtures.isolated(path, settings: ["mode": .string(mode)], sampleBudget: sampleBudget)
        for _ in 0..<times { batches.append(try await plugin.collectMetrics()) }
        await plugin.shutdown()
        return (batches, plugin.refusedSamples)
    }
    let plugin = try await PluginInstance(
        library: PluginLibrary.load(path: path), settings: ["mode": .string(mode)], sampleBudget: sampleBudget)
    for _ in 0..<times { batches.append(try await plugin.collectMetrics()) }
    await plugin.shutdown()
    return (batches, plugin.refusedSamples)
}

@Suite("Registered series: register_series once, then emit_values")
struct RegisteredSeriesTests {
    @Test(
        "values arrive as whole samples (name, help, labels, type), mixed with emit_metrics and late registrations",
        arguments: [false, true])
    func valuesBecomeSamples(isolated: Bool) async throws {
        let (batches, refused) = try await collect(mode: "values", isolated: isolated, times: 2)
        #expect(refused == [.invalidMetricName: 1, .unregistrableType: 1, .nullPointer: 2])
        for (call, batch) in batches.enumerated() {
            let metrics = batch.metrics
            #expect(metrics.map(\.name) == [
                "rs_receive_bytes_total", "rs_receive_bytes_total", "rs_receive_bytes_total", "rs_temperature_celsius",
                "rs_plain", "rs_receive_bytes_total",
            ])
            let scale = Double(call + 1)
            #expect(metrics[0].labels == [Label("device", "eth0"), Label("host", "a")])
            #expect(metrics[1].value == .counter(200 * scale))
            #expect(metrics[2].labels == [Label("device", "eth2"), Label("host", "a")])
            #expect(metrics[2].metadata["help"] == .string("Bytes received."))
            #expect(metrics[3].value == .gauge(-3.5))
            #expect(metrics[3].labels.isEmpty)
            #expect(metrics[3].metadata["help"] == nil)
            #expect(metrics[3].timestamp == Date(unixMilliseconds: 1_700_000_000_000))
            #expect(abs(metrics[0].timestamp.timeIntervalSinceNow) < 60)
            #expect(metrics[4].labels == [Label("kind", "plain")])
            #expect(metrics[5].labels == [Label("device", "eth9")])
            #expect(metrics[5].value == .counter(9))
            // The same series has the same fingerprint as when emitted with emit_metrics.
            #expect(batch.fingerprint(at: 1) == MetricBatch([metrics[1]]).fingerprint(at: 0))
        }
    }

    @Test("a value of an unknown series or an invalid counter value is refused alone and counted", arguments: [false, true])
    func garbageIsRefused(isolated: Bool) async throws {
        let (batches, refused) = try await collect(mode: "garbage", isolated: isolated)
        let metrics = try #require(batches.first).metrics
        #expect(metrics.count == 2)
        #expect(metrics.map(\.name) == ["rs_temperature_celsius", "rs_receive_bytes_total"])
        if case .gauge(let value) = metrics[0].value { #expect(value.isNaN) } else { Issue.record("not a gauge") }
        #expect(metrics[1].value == .counter(5))
        #expect(refused[.unknownSeries] == 2)
        #expect(refused[.invalidCounterValue] == 2)
        #expect(refused[.invalidTimestamp] == 1)
    }

    @Test("a counter registered again as a gauge is refused; repeats keep their number", arguments: [false, true])
    func typeConflictIsRefused(isolated: Bool) async throws {
        // create checks the answers itself (it fails when one is wrong); the collection emits as in "values".
        let (batches, refused) = try await collect(mode: "conflict", isolated: isolated)
        #expect(try #require(batches.first).count == 6)
        #expect(refused[.unregistrableType] == 2)
    }

    @Test("emit_values shares the collection's sample budget", arguments: [false, true])
    func budgetApplies(isolated: Bool) async throws {
        let (batches, refused) = try await collect(mode: "five", isolated: isolated, sampleBudget: 3)
        #expect(try #require(batches.first).count == 3)
        #expect(refused[.overBudget] == 2)
    }
}
