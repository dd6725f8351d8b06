/* A collector for the plugin-sample fuzz test (issue 11): every collection emits samples built at random from a
 * seed given in the settings (names, help, labels, types, values, buckets, quantiles, timestamps, NULL pointers
 * with and without lengths, invalid UTF-8), registers random series and hands over random values, and misuses
 * the calls (NULL arrays with counts). Lengths never exceed the buffers they describe: a plugin that lies about
 * its own memory cannot be defended against in-process. */
#include "stepflow_plugin.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const stepflow_host_api *api;
    stepflow_host *host;
    uint64_t state;
    char long_name[400];
    char scratch[64][48];
} fuzz_state;

static uint64_t next(fuzz_state *s) {
    uint64_t z = (s->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static const char *names[] = {"fuzz_ok", "fuzz_total", "", "1bad", "bad-name", "\xff\xfe", "le", "quantile",
                              "__reserved", "caf\xc3\xa9", "a:b", "fuzz_ok", "x\0y", "fuzz_hist", "fuzz_sum"};

static stepflow_str random_str(fuzz_state *s, int slot) {
    stepflow_str out;
    switch (next(s) % 10) {
    case 0: out.ptr = NULL; out.len = 0; return out;
    case 1: out.ptr = NULL; out.len = 1 + next(s) % 64; return out;
    case 2: out.ptr = s->long_name; out.len = next(s) % sizeof(s->long_name); return out;
    case 3: {
        char *buffer = s->scratch[slot % 64];
        size_t length = next(s) % sizeof(s->scratch[0]);
        for (size_t i = 0; i < length; i++) buffer[i] = (char)(next(s) & 0xff);
        out.ptr = buffer; out.len = length; return out;
    }
    default: {
        const char *name = names[next(s) % (sizeof(names) / sizeof(names[0]))];
        out.ptr = name; out.len = strlen(name) + (name[0] == 'x' ? 2 : 0); return out;
    }
    }
}

static double random_double(fuzz_state *s) {
    static const double pool[] = {0, -0.0, 1, -1, 1e308, -1e308, 5e-324, 42.5, 1e15, 9007199254740993.0};
    switch (next(s) % 6) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    default: return pool[next(s) % (sizeof(pool) / sizeof(pool[0]))];
    }
}

static int64_t random_time(fuzz_state *s) {
    static const int64_t pool[] = {0, -1, INT64_MIN, INT64_MAX, 253402300800000LL, 253402300799999LL,
                                   1796119200000LL, 1LL};
    return pool[next(s) % (sizeof(pool) / sizeof(pool[0]))];
}

static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                      size_t count, void **out) {
    fuzz_state *s = calloc(1, sizeof(fuzz_state));
    if (s == NULL) return STEPFLOW_ERR_FAILED;
    s->api = api;
    s->host = host;
    s->state = 1;
    for (size_t i = 0; i < count; i++) {
        if (settings[i].name.len == 4 && memcmp(settings[i].name.ptr, "seed", 4) == 0) {
            char text[32] = {0};
            memcpy(text, settings[i].value.ptr, settings[i].value.len < 31 ? settings[i].value.len : 31);
            s->state = strtoull(text, NULL, 10);
        }
    }
    memset(s->long_name, 'n', sizeof(s->long_name));
    *out = s;
    return STEPFLOW_OK;
}

static void destroy(void *context) { free(context); }

#define SAMPLES 250
#define LABELS 40
#define PARTS 24

static int32_t collect(void *context, stepflow_emitter *emitter) {
    fuzz_state *s = context;
    static stepflow_metric metrics[SAMPLES];
    static stepflow_label labels[SAMPLES][LABELS];
    static stepflow_bucket buckets[SAMPLES][PARTS];
    static stepflow_quantile quantiles[SAMPLES][PARTS];
    for (int i = 0; i < SAMPLES; i++) {
        stepflow_metric *m = &metrics[i];
        memset(m, 0, sizeof(*m));
        m->name = random_str(s, i);
        if (next(s) % 3 == 0) m->help = random_str(s, i + 1);
        m->type = (next(s) % 8 == 0) ? (int32_t)(next(s) % 11) - 5 : (int32_t)(1 + next(s) % 4);
        size_t label_count = next(s) % 5 == 0 ? next(s) % LABELS : next(s) % 4;
        for (size_t l = 0; l < label_count; l++) {
            labels[i][l].name = random_str(s, (int)(i + l));
            labels[i][l].value = random_str(s, (int)(i + l + 7));
        }
        m->labels = (next(s) % 20 == 0) ? NULL : labels[i];
        m->label_count = label_count;
        m->value = random_double(s);
        m->sum = random_double(s);
        m->count = next(s) % 4 == 0 ? UINT64_MAX : next(s) % 100;
        size_t parts = next(s) % PARTS;
        for (size_t p = 0; p < parts; p++) {
            buckets[i][p].upper_bound = next(s) % 3 == 0 ? random_double(s) : (double)p;
            buckets[i][p].count = next(s) % 3 == 0 ? next(s) : p;
            quantiles[i][p].quantile = next(s) % 3 == 0 ? random_double(s) : (double)p / PARTS;
            quantiles[i][p].value = random_double(s);
        }
        m->buckets = (next(s) % 10 == 0) ? NULL : buckets[i];
        m->bucket_count = parts;
        m->quantiles = (next(s) % 10 == 0) ? NULL : quantiles[i];
        m->quantile_count = parts;
        m->timestamp_ms = random_time(s);
    }
    size_t sent = 0;
    while (sent < SAMPLES) {
        size_t chunk = 1 + next(s) % (SAMPLES - sent);
        s->api->emit_metrics(emitter, metrics + sent, chunk);
        sent += chunk;
    }
    s->api->emit_metrics(emitter, NULL, 3);  /* misuse: refused with STEPFLOW_ERR_INVALID */
    if (STEPFLOW_HOST_HAS(s->api, emit_values)) {
        stepflow_series registered[8] = {0};
        for (int r = 0; r < 8; r++) s->api->register_series(s->host, &metrics[next(s) % SAMPLES], &registered[r]);
        s->api->register_series(s->host, NULL, &registered[0]);
        stepflow_value values[64];
        for (int v = 0; v < 64; v++) {
            values[v].series = next(s) % 4 == 0 ? (stepflow_series)next(s) : registered[next(s) % 8];
            values[v].reserved = 0;
            values[v].value = random_double(s);
            values[v].timestamp_ms = random_time(s);
        }
        s->api->emit_values(emitter, values, 64);
        s->api->emit_values(emitter, NULL, 5);
    }
    if (next(s) % 10 == 0) {
        stepflow_str message = random_str(s, 3);
        s->api->set_error(s->host, message);
        s->api->log(s->host, (int32_t)(next(s) % 9) - 2, message);
        return STEPFLOW_ERR_FAILED;
    }
    return STEPFLOW_OK;
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "fuzz", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
    .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
    (void)api;
    return &descriptor;
}
