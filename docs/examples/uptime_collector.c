/*
 * A complete stepflow-monitor metrics collector in C: seconds since boot, from /proc/uptime.
 * Build:  cc -shared -fPIC -I Sources/CStepflowPlugin/include -o libuptime.so docs/examples/uptime_collector.c
 * The project's tests build and load this file, so it stays correct.
 */
#include "stepflow_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct uptime {
    const stepflow_host_api *api;
    stepflow_host *host;
    char path[256];
};

static stepflow_str str(const char *text) { return (stepflow_str){text, strlen(text)}; }

static int read_uptime(const char *path, double *seconds) {
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    int matched = fscanf(file, "%lf", seconds);
    fclose(file);
    return matched == 1 ? 0 : -1;
}

static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                      size_t setting_count, void **out_context) {
    struct uptime *self = calloc(1, sizeof *self);
    if (!self) {
        api->set_error(host, str("out of memory"));
        return STEPFLOW_ERR_FAILED;
    }
    self->api = api;
    self->host = host;
    strcpy(self->path, "/proc/uptime");
    for (size_t i = 0; i < setting_count; i++) {
        /* Settings are borrowed (ptr, len) slices: copy what you keep. */
        if (settings[i].name.len == 4 && memcmp(settings[i].name.ptr, "path", 4) == 0) {
            if (settings[i].value.len >= sizeof self->path) {
                api->set_error(host, str("setting 'path' is too long"));
                free(self);
                return STEPFLOW_ERR_INVALID;
            }
            memcpy(self->path, settings[i].value.ptr, settings[i].value.len);
            self->path[settings[i].value.len] = '\0';
        } else {
            api->set_error(host, str("unknown setting; this plugin knows only 'path'"));
            free(self);
            return STEPFLOW_ERR_INVALID;
        }
    }
    *out_context = self;
    return STEPFLOW_OK;
}

static void destroy(void *context) { free(context); }

static int32_t collect(void *context, stepflow_emitter *emitter) {
    struct uptime *self = context;
    double seconds;
    if (read_uptime(self->path, &seconds) != 0) {
        char message[320];
        snprintf(message, sizeof message, "cannot read %s", self->path);
        self->api->set_error(self->host, str(message));
        return STEPFLOW_ERR_UNAVAILABLE;
    }
    stepflow_metric metric = {0};
    metric.name = str("example_uptime_seconds");
    metric.help = str("Seconds since the machine booted.");
    metric.type = STEPFLOW_METRIC_GAUGE;
    metric.value = seconds;
    return self->api->emit_metrics(emitter, &metric, 1);
}

static int32_t metric_names(void *context, const stepflow_str **out_names, size_t *out_count) {
    (void)context;
    static stepflow_str names[1];
    names[0] = str("example_uptime_seconds");
    *out_names = names;
    *out_count = 1;
    return STEPFLOW_OK;
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "uptime",
    .version = "1.0.0",
    .description = "Seconds since boot, from /proc/uptime",
    .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
    .default_interval_ms = 10000,
    .create = create,
    .destroy = destroy,
    .collect_metrics = collect,
    .metric_names = metric_names,
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *host_api) {
    if (host_api->abi_version != STEPFLOW_PLUGIN_ABI_VERSION) return NULL;
    return &descriptor;
}
