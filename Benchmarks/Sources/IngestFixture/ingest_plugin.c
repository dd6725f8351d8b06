/* The benchmark plugin: a C collector that hands the host one realistic batch per collect_metrics call.
 *
 * Settings: `count` (samples per emit_metrics call, default 1000), `batches` (emit_metrics calls per
 * collect_metrics, default 1). The samples are built once in create, so a collection costs the plugin nothing
 * but the call: what is measured is the host taking the batch in. The batch looks like node_exporter's
 * filesystem, disk and network families: 10 metric names, 3 or 4 labels per sample, HELP on every sample.
 * Setting `registered` = 1: the same series are registered once in create (host API 1.1, register_series) and
 * each collection hands over only their values with emit_values. */
#include "stepflow_plugin.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_COUNT 10

static const char *const names[NAME_COUNT] = {
    "node_filesystem_size_bytes", "node_filesystem_free_bytes", "node_filesystem_avail_bytes",
    "node_filesystem_files", "node_filesystem_files_free", "node_filesystem_readonly",
    "node_disk_read_bytes_total", "node_disk_written_bytes_total",
    "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
};
static const char *const helps[NAME_COUNT] = {
    "Filesystem size in bytes.", "Filesystem free space in bytes.",
    "Filesystem space available to non-root users in bytes.", "Filesystem total file nodes.",
    "Filesystem total free file nodes.", "Filesystem read-only status.",
    "The total number of bytes read successfully.", "The total number of bytes written successfully.",
    "Network device statistic receive_bytes.", "Network device statistic transmit_bytes.",
};

typedef struct bench_context {
    const stepflow_host_api *api;
    size_t count;
    size_t batches;
    stepflow_value *values;   /* registered = 1: one per sample */
    stepflow_metric *metrics;
    stepflow_label *labels;   /* 4 per sample */
    char *text;               /* label values, 64 bytes per value */
} bench_context;

static stepflow_str S(const char *text) { stepflow_str s = { text, strlen(text) }; return s; }

static size_t setting(const stepflow_setting *settings, size_t count, const char *name, size_t fallback) {
    for (size_t i = 0; i < count; i++) {
        if (settings[i].name.len == strlen(name) && memcmp(settings[i].name.ptr, name, settings[i].name.len) == 0) {
            char buffer[32] = {0};
            size_t n = settings[i].value.len < 31 ? settings[i].value.len : 31;
            memcpy(buffer, settings[i].value.ptr, n);
            return (size_t)strtoull(buffer, NULL, 10);
        }
    }
    return fallback;
}

static int32_t bench_create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                            size_t setting_count, void **out) {
    (void)host;
    bench_context *c = calloc(1, sizeof *c);
    if (!c) return STEPFLOW_ERR_FAILED;
    c->api = api;
    c->count = setting(settings, setting_count, "count", 1000);
    c->batches = setting(settings, setting_count, "batches", 1);
    c->metrics = calloc(c->count ? c->count : 1, sizeof *c->metrics);
    c->labels = calloc(c->count ? c->count * 4 : 1, sizeof *c->labels);
    c->text = calloc(c->count ? c->count * 4 * 64 : 1, 1);
    if (!c->metrics || !c->labels || !c->text) return STEPFLOW_ERR_FAILED;
    size_t series_per_name = c->count / NAME_COUNT ? c->count / NAME_COUNT : 1;
    for (size_t i = 0; i < c->count; i++) {
        size_t n = (i / series_per_name) % NAME_COUNT, series = i % series_per_name;
        stepflow_metric *m = &c->metrics[i];
        stepflow_label *l = &c->labels[i * 4];
        char *t = &c->text[i * 4 * 64];
        int network = n >= 8, disk = n >= 6 && n < 8;
        m->name = S(names[n]);
        m->help = S(helps[n]);
        m->type = (disk || network) ? STEPFLOW_METRIC_COUNTER : STEPFLOW_METRIC_GAUGE;
        m->value = (double)(i * 4096 + 17);
        m->labels = l;
        if (network) {
            snprintf(t, 64, "eth%zu", series);
            l[0].name = S("device"); l[0].value = S(t);
            l[1].name = S("instance"); l[1].value = S("host-01.example.internal:9100");
            l[2].name = S("job"); l[2].value = S("node");
            m->label_count = 3;
        } else if (disk) {
            snprintf(t, 64, "nvme0n%zu", series);
            l[0].name = S("device"); l[0].value = S(t);
            l[1].name = S("instance"); l[1].value = S("host-01.example.internal:9100");
            l[2].name = S("job"); l[2].value = S("node");
            m->label_count = 3;
        } else {
            snprintf(t, 64, "/dev/mapper/vg0-lv%zu", series);
            snprintf(t + 64, 64, "/srv/volumes/volume-%03zu", series);
            l[0].name = S("device"); l[0].value = S(t);
            l[1].name = S("fstype"); l[1].value = S(series % 3 ? "ext4" : "xfs");
            l[2].name = S("mountpoint"); l[2].value = S(t + 64);
            l[3].name = S("instance"); l[3].value = S("host-01.example.internal:9100");
            m->label_count = 4;
        }
    }
    if (setting(settings, setting_count, "registered", 0)) {
        if (!STEPFLOW_HOST_HAS(api, emit_values)) return STEPFLOW_ERR_UNSUPPORTED;
        c->values = calloc(c->count ? c->count : 1, sizeof *c->values);
        if (!c->values) return STEPFLOW_ERR_FAILED;
        for (size_t i = 0; i < c->count; i++) {
            if (api->register_series(host, &c->metrics[i], &c->values[i].series) != STEPFLOW_OK) return STEPFLOW_ERR_FAILED;
            c->values[i].value = c->metrics[i].value;
        }
    }
    *out = c;
    return STEPFLOW_OK;
}

static void bench_destroy(void *opaque) {
    bench_context *c = opaque;
    free(c->metrics);
    free(c->labels);
    free(c->text);
    free(c->values);
    free(c);
}

static int32_t bench_collect(void *opaque, stepflow_emitter *emitter) {
    bench_context *c = opaque;
    for (size_t b = 0; b < c->batches; b++) {
        int32_t status = c->values ? c->api->emit_values(emitter, c->values, c->count)
                                   : c->api->emit_metrics(emitter, c->metrics, c->count);
        if (status != STEPFLOW_OK) return status;
    }
    return STEPFLOW_OK;
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "ingest_bench",
    .version = "0.1.0",
    .description = "emits a fixed, realistic batch of samples for the host-side ingest benchmarks",
    .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
    .default_interval_ms = 1000,
    .create = bench_create,
    .destroy = bench_destroy,
    .collect_metrics = bench_collect,
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
    (void)api;
    return &descriptor;
}
