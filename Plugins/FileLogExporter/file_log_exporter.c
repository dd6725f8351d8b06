/* The file log exporter plugin: see include/file_log_exporter.h. */
#define _POSIX_C_SOURCE 200809L /* strndup, O_CLOEXEC */
#include "include/file_log_exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct file_log_exporter {
    const stepflow_host_api *api;
    stepflow_host *host;
    int fd;
    char *path;
} file_log_exporter;

/* A growable byte buffer; `failed` is set once an allocation fails, after which appends are ignored. */
typedef struct buffer {
    char *bytes;
    size_t len;
    size_t cap;
    int failed;
} buffer;

static void append(buffer *b, const char *bytes, size_t len) {
    if (b->failed || len == 0) return;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len) cap *= 2;
        char *grown = realloc(b->bytes, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->bytes = grown;
        b->cap = cap;
    }
    memcpy(b->bytes + b->len, bytes, len);
    b->len += len;
}

static void append_text(buffer *b, const char *text) { append(b, text, strlen(text)); }

/* Appends `s` as a JSON string: quotes, backslashes and control characters escaped; UTF-8 passed through. */
static void append_json_string(buffer *b, stepflow_str s) {
    static const char hex[] = "0123456789abcdef";
    append(b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        const char *escape = NULL;
        char unicode[6];
        switch (c) {
        case '"': escape = "\\\""; break;
        case '\\': escape = "\\\\"; break;
        case '\n': escape = "\\n"; break;
        case '\r': escape = "\\r"; break;
        case '\t': escape = "\\t"; break;
        case '\b': escape = "\\b"; break;
        case '\f': escape = "\\f"; break;
        default:
            if (c < 0x20) {
                memcpy(unicode, "\\u00", 4);
                unicode[4] = hex[c >> 4];
                unicode[5] = hex[c & 0xf];
            }
        }
        if (!escape && c >= 0x20) continue;
        append(b, s.ptr + start, i - start);
        if (escape) append_text(b, escape); else append(b, unicode, sizeof unicode);
        start = i + 1;
    }
    if (s.len > start) append(b, s.ptr + start, s.len - start);
    append(b, "\"", 1);
}

static void append_member(buffer *b, const char *name, stepflow_str value) {
    append_text(b, ",\"");
    append_text(b, name);
    append_text(b, "\":");
    append_json_string(b, value);
}

/* An optional member: null when empty. */
static void append_optional(buffer *b, const char *name, stepflow_str value) {
    if (value.len > 0) {
        append_member(b, name, value);
        return;
    }
    append_text(b, ",\"");
    append_text(b, name);
    append_text(b, "\":null");
}

static const char *level_name(int32_t level) {
    switch (level) {
    case STEPFLOW_LOG_TRACE: return "trace";
    case STEPFLOW_LOG_DEBUG: return "debug";
    case STEPFLOW_LOG_INFO: return "info";
    case STEPFLOW_LOG_WARN: return "warn";
    case STEPFLOW_LOG_ERROR: return "error";
    case STEPFLOW_LOG_FATAL: return "fatal";
    default: return "unknown";
    }
}

static void append_record(buffer *b, const stepflow_log_record *r) {
    char number[32];
    append_text(b, "{\"id\":");
    append_json_string(b, r->id);
    append_text(b, ",\"level\":\"");
    append_text(b, level_name(r->level));
    append_text(b, "\"");
    append_member(b, "message", r->message);
    snprintf(number, sizeof number, ",\"timestamp_ms\":%lld", (long long)r->timestamp_ms);
    append_text(b, number);
    append_member(b, "source", r->source);
    append_member(b, "component", r->component);
    append_member(b, "module", r->module);
    append_member(b, "function", r->function);
    if (r->line >= 0) {
        snprintf(number, sizeof number, ",\"line\":%lld", (long long)r->line);
        append_text(b, number);
    } else {
        append_text(b, ",\"line\":null");
    }
    append_optional(b, "trace_id", r->trace_id);
    append_optional(b, "span_id", r->span_id);
    append_optional(b, "user_id", r->user_id);
    append_optional(b, "request_id", r->request_id);
    append_text(b, ",\"fields\":{");
    for (size_t i = 0; r->fields && i < r->field_count; i++) {
        if (i > 0) append_text(b, ",");
        append_json_string(b, r->fields[i].name);
        append_text(b, ":");
        append_json_string(b, r->fields[i].value);
    }
    append_text(b, "}}\n");
}

static void report(file_log_exporter *self, const char *what) {
    char message[1024];
    snprintf(message, sizeof message, "%s %s: %s", what, self->path, strerror(errno));
    self->api->set_error(self->host, (stepflow_str){message, strlen(message)});
}

static int32_t export_logs(void *context, const stepflow_log_record *records, size_t count) {
    file_log_exporter *self = context;
    if (count == 0) return STEPFLOW_OK;
    if (!records) {
        const char *message = "export_logs was called with NULL records";
        self->api->set_error(self->host, (stepflow_str){message, strlen(message)});
        return STEPFLOW_ERR_INVALID;
    }
    buffer b = {0};
    for (size_t i = 0; i < count; i++) append_record(&b, &records[i]);
    if (b.failed) {
        free(b.bytes);
        const char *message = "out of memory while formatting the batch";
        self->api->set_error(self->host, (stepflow_str){message, strlen(message)});
        return STEPFLOW_ERR_FAILED;
    }
    size_t written = 0;
    while (written < b.len) {
        ssize_t n = write(self->fd, b.bytes + written, b.len - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            report(self, "cannot write to");
            free(b.bytes);
            return STEPFLOW_ERR_UNAVAILABLE;
        }
        written += (size_t)n;
    }
    free(b.bytes);
    return STEPFLOW_OK;
}

static int equals(stepflow_str s, const char *text) {
    return s.len == strlen(text) && (s.len == 0 || memcmp(s.ptr, text, s.len) == 0);
}

static void destroy(void *context) {
    file_log_exporter *self = context;
    if (!self) return;
    if (self->fd >= 0) close(self->fd);
    free(self->path);
    free(self);
}

static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                      size_t setting_count, void **out_context) {
    char message[512];
    file_log_exporter *self = calloc(1, sizeof *self);
    if (!self) return STEPFLOW_ERR_FAILED;
    self->api = api;
    self->host = host;
    self->fd = -1;
    for (size_t i = 0; i < setting_count; i++) {
        if (equals(settings[i].name, "path") && settings[i].value.len > 0) {
            free(self->path);
            self->path = strndup(settings[i].value.ptr, settings[i].value.len);
        } else if (!equals(settings[i].name, "path")) {
            snprintf(message, sizeof message, "setting '%.*s': unknown setting; this plugin accepts: path",
                     (int)settings[i].name.len, settings[i].name.ptr ? settings[i].name.ptr : "");
            api->set_error(host, (stepflow_str){message, strlen(message)});
            destroy(self);
            return STEPFLOW_ERR_INVALID;
        }
    }
    if (!self->path) {
        const char *text = "setting 'path' is required: the file to append NDJSON log lines to";
        api->set_error(host, (stepflow_str){text, strlen(text)});
        destroy(self);
        return STEPFLOW_ERR_INVALID;
    }
    self->fd = open(self->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (self->fd < 0) {
        report(self, "cannot open");
        destroy(self);
        return STEPFLOW_ERR_UNAVAILABLE;
    }
    *out_context = self;
    return STEPFLOW_OK;
}

static const stepflow_plugin_descriptor descriptor = {
    .abi_version = STEPFLOW_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(stepflow_plugin_descriptor),
    .name = "file-log",
    .version = "1.0.0",
    .description = "Appends log records to a file as NDJSON",
    .capabilities = STEPFLOW_CAP_LOG_EXPORTER,
    .create = create,
    .destroy = destroy,
    .export_logs = export_logs,
    .supported_formats = "ndjson",
};

const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *host_api) {
    if (!host_api || host_api->abi_version != STEPFLOW_PLUGIN_ABI_VERSION) return NULL;
    return &descriptor;
}
