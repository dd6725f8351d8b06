/* A collector that spins: each collect_metrics call burns `spin_ms` milliseconds of CPU on the calling thread
 * (measured with that thread's own CPU clock, so the burn does not depend on how busy the machine is) and emits
 * one gauge. With spin_ms 0 it is an idle plugin. For the profiler's plugin CPU tests (issue 15). */
#define _POSIX_C_SOURCE 200809L
#include "stepflow_plugin.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const stepflow_host_api *host_api;

static long thread_cpu_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return now.tv_sec * 1000000000L + now.tv_nsec;
}

static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                      size_t count, void **out) {
    (void)host;
    host_api = api;
    long *spin_ms = calloc(1, sizeof(long));
    if (spin_ms == NULL) return STEPFLOW_ERR_FAILED;
    for (size_t i = 0; i < count; i++) {
        if (settings[i].name.len == 7 && memcmp(settings[i].name.ptr, "spin_ms", 7) == 0) {
            char text[16] = {0};
            memcpy(text, settings[i].value.ptr, settings[i].value.len < 15 ? settings[i].value.len : 15);
            *spin_ms = strtol(text, NULL, 10);
        }
    }
    *out = spin_ms;
    return STEPFLOW_OK;
}

static void destroy(void *context) { free(context); }

static int32_t collect(void *context, stepflow_emitter *emitter) {
    long spin_ms = *(long *)context;
    long until = thread_cpu_ns() + spin_ms * 1000000L;
    volatile unsigned long sink = 0;
    while (thread_cpu_ns() < until) sink += 1;
    stepflow_metric sample;
    memset(&sample, 0, sizeof(sample));
    sample.name = (stepflow_str){"spinner_spins", 13};
    sample.type = STEPFLOW_METRIC_GAUGE;
    sample.value = (double)spin_ms;
    return host_api->emit_metrics(emitter, &sample, 1);
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "spinner", .version = "1.0.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
    .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
    (void)api;
    return &descriptor;
}
