/* A collector that keeps the emitter and hands it to a thread of its own, which calls emit_metrics (and
 * emit_values) after collect_metrics has returned, and calls log and set_error after destroy: the misuse of
 * issue 12 that crashed an in-process host. */
#include "stepflow_plugin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const stepflow_host_api *host_api;
static stepflow_host *host_handle;
static char marker[512]; /* the "marker" setting: a file that gets a line after each late emit returned */

static void pause_ms(long ms) {
    struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);
}

static void *late_emit(void *argument) {
    stepflow_emitter *emitter = argument;
    pause_ms(50);
    stepflow_metric sample;
    memset(&sample, 0, sizeof(sample));
    sample.name.ptr = "late_total";
    sample.name.len = 10;
    sample.type = STEPFLOW_METRIC_COUNTER;
    sample.value = 1;
    host_api->emit_metrics(emitter, &sample, 1);
    stepflow_value value = {1, 0, 1.0, 0};
    host_api->emit_values(emitter, &value, 1);
    if (marker[0] != '\0') {
        FILE *file = fopen(marker, "a");
        if (file != NULL) {
            fputs("late call returned\n", file);
            fclose(file);
        }
    }
    return NULL;
}

static void *late_host(void *argument) {
    (void)argument;
    pause_ms(50);
    stepflow_str message = {"after destroy", 13};
    host_api->log(host_handle, STEPFLOW_LOG_INFO, message);
    host_api->set_error(host_handle, message);
    return NULL;
}

static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                      size_t count, void **out) {
    host_api = api;
    for (size_t i = 0; i < count; i++) {
        if (settings[i].name.len == 6 && memcmp(settings[i].name.ptr, "marker", 6) == 0 &&
            settings[i].value.len < sizeof(marker)) {
            memcpy(marker, settings[i].value.ptr, settings[i].value.len);
            marker[settings[i].value.len] = '\0';
        }
    }
    host_handle = host;
    *out = malloc(1);
    return STEPFLOW_OK;
}

static void destroy(void *context) {
    free(context);
    pthread_t thread;
    if (pthread_create(&thread, NULL, late_host, NULL) == 0) pthread_detach(thread);
}

static int32_t collect(void *context, stepflow_emitter *emitter) {
    (void)context;
    pthread_t thread;
    if (pthread_create(&thread, NULL, late_emit, emitter) == 0) pthread_detach(thread);
    return STEPFLOW_OK;
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "late", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
    .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
    (void)api;
    return &descriptor;
}
