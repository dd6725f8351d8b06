/* The filesystem collector plugin: see include/filesystem_collector.h. */
#include "include/filesystem_collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define FS_METRIC_COUNT 5

static const char *const metric_names[FS_METRIC_COUNT] = {
    "node_filesystem_size_bytes", "node_filesystem_free_bytes", "node_filesystem_avail_bytes",
    "node_filesystem_files", "node_filesystem_files_free",
};

static const char *const metric_help[FS_METRIC_COUNT] = {
    "Filesystem size in bytes.",
    "Filesystem free space in bytes.",
    "Filesystem space available to non-root users in bytes.",
    "Filesystem total file nodes.",
    "Filesystem total free file nodes.",
};

typedef struct fs_context {
    const stepflow_host_api *api;
    stepflow_host *host;
    char **paths;
    size_t path_count;
    stepflow_str names[FS_METRIC_COUNT];
} fs_context;

static stepflow_str str_of(const char *text) {
    stepflow_str s;
    s.ptr = text;
    s.len = text ? strlen(text) : 0;
    return s;
}

static void host_log(const stepflow_host_api *api, stepflow_host *host, int32_t level, const char *text) {
    api->log(host, level, str_of(text));
}

static void host_error(const stepflow_host_api *api, stepflow_host *host, const char *text) {
    api->set_error(host, str_of(text));
}

static void free_context(fs_context *context) {
    if (!context) return;
    for (size_t i = 0; i < context->path_count; i++) free(context->paths[i]);
    free(context->paths);
    free(context);
}

/* Appends a copy of text[0..len) with surrounding blanks, brackets and quotes removed; skips empty items. */
static int add_path(fs_context *context, const char *text, size_t len) {
    while (len > 0 && strchr(" \t\r\n[\"", text[0])) { text++; len--; }
    while (len > 0 && strchr(" \t\r\n]\"", text[len - 1])) len--;
    if (len == 0) return 0;
    char **grown = realloc(context->paths, (context->path_count + 1) * sizeof(char *));
    if (!grown) return -1;
    context->paths = grown;
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    context->paths[context->path_count++] = copy;
    return 0;
}

/* Splits "a, b" or ["a", "b"] on commas. Paths containing commas or quotes are not supported. */
static int parse_paths(fs_context *context, const char *text, size_t len) {
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == ',') {
            if (add_path(context, text + start, i - start) != 0) return -1;
            start = i + 1;
        }
    }
    return 0;
}

static int str_equals(stepflow_str s, const char *text) {
    size_t len = strlen(text);
    return s.len == len && (len == 0 || memcmp(s.ptr, text, len) == 0);
}

static int32_t fs_create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                         size_t setting_count, void **out_context) {
    fs_context *context = calloc(1, sizeof(fs_context));
    if (!context) {
        host_error(api, host, "out of memory");
        return STEPFLOW_ERR_FAILED;
    }
    context->api = api;
    context->host = host;
    for (size_t i = 0; i < FS_METRIC_COUNT; i++) context->names[i] = str_of(metric_names[i]);

    int have_paths = 0;
    for (size_t i = 0; i < setting_count; i++) {
        if (str_equals(settings[i].name, "paths")) {
            have_paths = 1;
            if (parse_paths(context, settings[i].value.ptr, settings[i].value.len) != 0) {
                host_error(api, host, "out of memory");
                free_context(context);
                return STEPFLOW_ERR_FAILED;
            }
        } else {
            char message[256];
            snprintf(message, sizeof message, "setting '%.*s': unknown setting; this plugin accepts: paths",
                     (int)settings[i].name.len, settings[i].name.ptr ? settings[i].name.ptr : "");
            host_error(api, host, message);
            free_context(context);
            return STEPFLOW_ERR_INVALID;
        }
    }
    if (!have_paths && add_path(context, "/", 1) != 0) {
        host_error(api, host, "out of memory");
        free_context(context);
        return STEPFLOW_ERR_FAILED;
    }
    if (context->path_count == 0) {
        host_error(api, host, "setting 'paths': no path given; list at least one, e.g. \"/, /home\"");
        free_context(context);
        return STEPFLOW_ERR_INVALID;
    }
    *out_context = context;
    return STEPFLOW_OK;
}

static void fs_destroy(void *opaque) {
    free_context((fs_context *)opaque);
}

static int32_t fs_collect(void *opaque, stepflow_emitter *emitter) {
    fs_context *context = (fs_context *)opaque;
    size_t succeeded = 0;
    char failure[512] = "";
    for (size_t i = 0; i < context->path_count; i++) {
        const char *path = context->paths[i];
        struct statvfs usage;
        if (statvfs(path, &usage) != 0) {
            snprintf(failure, sizeof failure, "statvfs(%s) failed: %s; the path is skipped", path, strerror(errno));
            host_log(context->api, context->host, STEPFLOW_LOG_WARN, failure);
            continue;
        }
        double fragment = (double)usage.f_frsize;
        double values[FS_METRIC_COUNT] = {
            (double)usage.f_blocks * fragment, (double)usage.f_bfree * fragment, (double)usage.f_bavail * fragment,
            (double)usage.f_files, (double)usage.f_ffree,
        };
        stepflow_label label = { str_of("mountpoint"), str_of(path) };
        stepflow_metric samples[FS_METRIC_COUNT];
        memset(samples, 0, sizeof samples);
        for (size_t m = 0; m < FS_METRIC_COUNT; m++) {
            samples[m].name = str_of(metric_names[m]);
            samples[m].help = str_of(metric_help[m]);
            samples[m].type = STEPFLOW_METRIC_GAUGE;
            samples[m].labels = &label;
            samples[m].label_count = 1;
            samples[m].value = values[m];
        }
        int32_t status = context->api->emit_metrics(emitter, samples, FS_METRIC_COUNT);
        if (status != STEPFLOW_OK && status != STEPFLOW_ERR_BUDGET) {
            host_error(context->api, context->host, "the host refused the samples");
            return status;
        }
        succeeded++;
    }
    if (succeeded == 0) {
        char message[600];
        snprintf(message, sizeof message, "no configured path could be read (last: %s)", failure);
        host_error(context->api, context->host, message);
        return STEPFLOW_ERR_UNAVAILABLE;
    }
    return STEPFLOW_OK;
}

static int32_t fs_metric_names(void *opaque, const stepflow_str **out_names, size_t *out_count) {
    fs_context *context = (fs_context *)opaque;
    *out_names = context->names;
    *out_count = FS_METRIC_COUNT;
    return STEPFLOW_OK;
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "filesystem",
    .version = "1.0.0",
    .description = "Filesystem size, free space and inodes of configured paths (statvfs, node_exporter names)",
    .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
    .default_interval_ms = 30000,
    .reserved = 0,
    .create = fs_create,
    .destroy = fs_destroy,
    .collect_metrics = fs_collect,
    .metric_names = fs_metric_names,
    .export_logs = NULL,
    .send_notification = NULL,
    .send_acknowledgment = NULL,
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *host_api) {
    if (!host_api || host_api->abi_version != STEPFLOW_PLUGIN_ABI_VERSION ||
        host_api->struct_size < offsetof(stepflow_host_api, emit_metrics) + sizeof(void *)) {
        return NULL;
    }
    return &descriptor;
}
