/* A collector whose series are set by its settings, for the series ownership and expiry tests of issue 12:
 *   metric       the gauge's name (default fixture_value);
 *   epoch_every  when > 0, every sample carries epoch="<collections / epoch_every>", so the series it reports
 *                changes every epoch_every collections and the previous one goes stale;
 *   labels       how many extra labels (l0="x", l1="x", ...) each sample carries, to meet the label limits.
 * The value is the number of collections so far. */
#include "stepflow_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char metric[128];
    long epoch_every;
    long labels;
    long calls;
} emitter_state;

static const stepflow_host_api *host_api;

static int matches(stepflow_str name, const char *expected) {
    return name.len == strlen(expected) && memcmp(name.ptr, expected, name.len) == 0;
}

static long number(stepflow_str value) {
    char text[32];
    size_t length = value.len < sizeof(text) - 1 ? value.len : sizeof(text) - 1;
    memcpy(text, value.ptr, length);
    text[length] = '\0';
    return strtol(text, NULL, 10);
}

static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                      size_t count, void **out) {
    (void)host;
    host_api = api;
    emitter_state *state = calloc(1, sizeof(emitter_state));
    if (state == NULL) return STEPFLOW_ERR_FAILED;
    strcpy(state->metric, "fixture_value");
    for (size_t i = 0; i < count; i++) {
        if (matches(settings[i].name, "metric") && settings[i].value.len < sizeof(state->metric)) {
            memcpy(state->metric, settings[i].value.ptr, settings[i].value.len);
            state->metric[settings[i].value.len] = '\0';
        } else if (matches(settings[i].name, "epoch_every")) {
            state->epoch_every = number(settings[i].value);
        } else if (matches(settings[i].name, "labels")) {
            state->labels = number(settings[i].value);
            if (state->labels > 60) state->labels = 60;
        }
    }
    *out = state;
    return STEPFLOW_OK;
}

static void destroy(void *context) { free(context); }

static int32_t collect(void *context, stepflow_emitter *emitter) {
    emitter_state *state = context;
    char names[64][8];
    char epoch[32];
    stepflow_label labels[64];
    size_t count = 0;
    if (state->epoch_every > 0) {
        snprintf(epoch, sizeof(epoch), "%ld", state->calls / state->epoch_every);
        labels[count].name = (stepflow_str){"epoch", 5};
        labels[count].value = (stepflow_str){epoch, strlen(epoch)};
        count++;
    }
    for (long i = 0; i < state->labels; i++) {
        snprintf(names[i], sizeof(names[i]), "l%ld", i);
        labels[count].name = (stepflow_str){names[i], strlen(names[i])};
        labels[count].value = (stepflow_str){"x", 1};
        count++;
    }
    stepflow_metric sample;
    memset(&sample, 0, sizeof(sample));
    sample.name = (stepflow_str){state->metric, strlen(state->metric)};
    sample.type = STEPFLOW_METRIC_GAUGE;
    sample.value = (double)state->calls;
    sample.labels = labels;
    sample.label_count = count;
    state->calls++;
    return host_api->emit_metrics(emitter, &sample, 1);
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "series", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
    .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
    (void)api;
    return &descriptor;
}
