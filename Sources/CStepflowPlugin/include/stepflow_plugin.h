/*
 * stepflow_plugin.h — the whole C ABI between stepflow-monitor and its plugins.
 *
 * A plugin is a shared library that exports one symbol, STEPFLOW_PLUGIN_ENTRY ("stepflow_plugin_register").
 * The host dlopen-s the library, calls the entry with its host-API table, and gets back a static descriptor
 * that names the plugin, states its capabilities and holds its function pointers.
 *
 * Versioning (the SQLite extension model):
 *   - abi_version is the major version. The host refuses a descriptor whose abi_version it does not speak,
 *     and a plugin may refuse (return NULL) a host whose abi_version it does not speak.
 *   - struct_size is sizeof() the struct as the other side was compiled. Both structs only ever grow at their
 *     end; a side reads a member only when struct_size says the member is there, so a plugin built against an
 *     older header keeps loading on a newer host.
 *
 * Rules for plugin authors:
 *   - Strings are borrowed (ptr, len) UTF-8 slices, not NUL-terminated. What the host passes in is valid only
 *     during the call; what the plugin passes to the host is copied before the host function returns.
 *   - Functions return STEPFLOW_OK or a negative STEPFLOW_ERR_* code. Before returning an error, call
 *     host->set_error(host_handle, message) so the host can say what went wrong.
 *   - The host never calls one plugin instance from two threads at once. Calls run on a host thread where
 *     blocking is allowed, but every call must return: a call that outlives its timeout is reported and the
 *     instance is not called again until it returns.
 *   - Never unwind (C++ exceptions, longjmp) across this boundary.
 */
#ifndef STEPFLOW_PLUGIN_H
#define STEPFLOW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI major version this header describes. */
#define STEPFLOW_PLUGIN_ABI_VERSION 1u

/** The symbol every plugin exports, of type stepflow_plugin_register_fn. */
#define STEPFLOW_PLUGIN_ENTRY "stepflow_plugin_register"

/* ---- Status codes -------------------------------------------------------------------------------------- */

#define STEPFLOW_OK 0
#define STEPFLOW_ERR_FAILED (-1)        /* generic failure; see the message passed to set_error */
#define STEPFLOW_ERR_INVALID (-2)       /* bad settings or arguments */
#define STEPFLOW_ERR_UNAVAILABLE (-3)   /* a resource the plugin needs is missing; try again later */
#define STEPFLOW_ERR_UNSUPPORTED (-4)   /* the plugin does not implement this call */
#define STEPFLOW_ERR_BUDGET (-5)        /* returned by the host: the emission exceeded a budget */
#define STEPFLOW_ERR_EXPIRED (-6)       /* returned by the host: the handle is no longer valid (an emitter used after
                                           collect_metrics returned, a host handle after destroy); counted and logged */
#define STEPFLOW_ERR_NOMEM (-7)         /* an allocation failed (e.g. under the runner's limits.memory); the host
                                           restarts a process-isolated plugin's runner, with backoff */

/* ---- Capabilities (the spec's extension points) -------------------------------------------------------- */

#define STEPFLOW_CAP_METRICS_COLLECTOR (1ull << 0) /* CustomMetricsCollector: collect_metrics */
#define STEPFLOW_CAP_LOG_EXPORTER (1ull << 1)      /* CustomLogExporter: export_logs */
#define STEPFLOW_CAP_ALERT_NOTIFIER (1ull << 2)    /* CustomAlertNotifier: send_notification */

/* ---- Plain data ---------------------------------------------------------------------------------------- */

/** A borrowed UTF-8 string: `len` bytes at `ptr`, no terminator required. `ptr` may be NULL when `len` is 0. */
typedef struct stepflow_str {
    const char *ptr;
    size_t len;
} stepflow_str;

/** A name/value pair: a metric label, or a plugin setting. */
typedef struct stepflow_label {
    stepflow_str name;
    stepflow_str value;
} stepflow_label;

typedef stepflow_label stepflow_setting;

typedef enum stepflow_metric_type {
    STEPFLOW_METRIC_COUNTER = 1,   /* cumulative, monotonic; `value` is finite and >= 0 (fractions allowed) */
    STEPFLOW_METRIC_GAUGE = 2,     /* `value` */
    STEPFLOW_METRIC_HISTOGRAM = 3, /* `sum`, `count`, `buckets` */
    STEPFLOW_METRIC_SUMMARY = 4    /* `sum`, `count`, `quantiles` */
} stepflow_metric_type;

/** A histogram bucket: observations <= upper_bound, cumulative. The +Inf bucket is implied by `count`. */
typedef struct stepflow_bucket {
    double upper_bound;
    uint64_t count;
} stepflow_bucket;

/** A summary quantile, e.g. {0.99, 0.42}. */
typedef struct stepflow_quantile {
    double quantile;
    double value;
} stepflow_quantile;

/** One metric sample. Members that do not apply to `type` are ignored. */
typedef struct stepflow_metric {
    stepflow_str name;               /* Prometheus rules: [a-zA-Z_:][a-zA-Z0-9_:]* */
    stepflow_str help;               /* optional HELP text */
    int32_t type;                    /* a stepflow_metric_type */
    const stepflow_label *labels;
    size_t label_count;
    double value;                    /* counter and gauge */
    double sum;                      /* histogram and summary */
    uint64_t count;                  /* histogram and summary */
    const stepflow_bucket *buckets;  /* histogram, ascending upper bounds */
    size_t bucket_count;
    const stepflow_quantile *quantiles; /* summary */
    size_t quantile_count;
    int64_t timestamp_ms;            /* Unix milliseconds; 0 means "now" */
} stepflow_metric;

/** Log severities, the spec's LogLevel. */
typedef enum stepflow_log_level {
    STEPFLOW_LOG_TRACE = 0,
    STEPFLOW_LOG_DEBUG = 1,
    STEPFLOW_LOG_INFO = 2,
    STEPFLOW_LOG_WARN = 3,
    STEPFLOW_LOG_ERROR = 4,
    STEPFLOW_LOG_FATAL = 5
} stepflow_log_level;

/** One log entry handed to a log exporter (the spec's LogEntry and LogContext, flattened). */
typedef struct stepflow_log_record {
    stepflow_str id;
    int32_t level;                   /* a stepflow_log_level */
    stepflow_str message;
    int64_t timestamp_ms;
    stepflow_str source;
    stepflow_str component;
    stepflow_str module;
    stepflow_str function;
    int64_t line;                    /* -1 when unknown */
    stepflow_str trace_id;           /* empty when absent; likewise below */
    stepflow_str span_id;
    stepflow_str user_id;
    stepflow_str request_id;
    const stepflow_label *fields;    /* additional_fields, values as text */
    size_t field_count;
} stepflow_log_record;

/** One alert handed to a notifier (the spec's Alert, flattened). */
typedef struct stepflow_alert {
    stepflow_str alert_id;
    stepflow_str rule_id;
    stepflow_str name;
    stepflow_str description;
    stepflow_str severity;           /* "critical", "warning", "info", "debug" */
    stepflow_str status;             /* "firing", "resolved", "acknowledged" */
    const stepflow_label *labels;
    size_t label_count;
    const stepflow_label *annotations;
    size_t annotation_count;
    double value;
    int64_t fired_at_ms;
    int64_t resolved_at_ms;          /* 0 when not resolved */
} stepflow_alert;

/**
 * A counter or gauge series registered with host_api->register_series: the host's number for it, from 1,
 * valid for the life of the plugin instance that registered it. 0 is never a series.
 */
typedef uint32_t stepflow_series;

/** One value of a registered series, handed over with host_api->emit_values. */
typedef struct stepflow_value {
    stepflow_series series;          /* from register_series */
    uint32_t reserved;               /* 0 */
    double value;                    /* a counter's must be finite and >= 0 */
    int64_t timestamp_ms;            /* Unix milliseconds; 0 means "now" */
} stepflow_value;

/* ---- The host side ------------------------------------------------------------------------------------- */

/** Opaque: the host's handle for one plugin instance, passed to create and to every host function. */
typedef struct stepflow_host stepflow_host;

/** Opaque: where collect_metrics sends its samples during one call. */
typedef struct stepflow_emitter stepflow_emitter;

/** Functions the host offers to plugins. Valid for the life of the process; log and set_error may be called
 *  from any thread, with the stepflow_host * of a live instance. */
typedef struct stepflow_host_api {
    uint32_t abi_version;            /* STEPFLOW_PLUGIN_ABI_VERSION of the host */
    uint32_t struct_size;            /* sizeof(stepflow_host_api) as the host was compiled */

    /** Writes a line to the host's log, tagged with the plugin's name. `level` is a stepflow_log_level. */
    void (*log)(stepflow_host *host, int32_t level, stepflow_str message);

    /** Records the message explaining the error the plugin is about to return. The host copies it. */
    void (*set_error)(stepflow_host *host, stepflow_str message);

    /**
     * Hands samples to the host during collect_metrics. The host copies them before returning, so the
     * plugin may reuse its buffers at once. May be called several times per collection. Returns STEPFLOW_OK,
     * or STEPFLOW_ERR_BUDGET when samples past the plugin's budget were dropped, or STEPFLOW_ERR_INVALID when
     * `metrics` is NULL with a non-zero `count` (or `emitter` is NULL). A sample that breaks the rules above
     * (names, UTF-8, duplicate label names, a counter that is negative or not finite, buckets not ascending)
     * is refused on its own and counted by the host; the call still returns STEPFLOW_OK for the others.
     * Never call it after collect_metrics has returned: the emitter is gone, and the call is refused with
     * STEPFLOW_ERR_EXPIRED (counted and logged; handles are numbers the host checks, never dereferenced).
     */
    int32_t (*emit_metrics)(stepflow_emitter *emitter, const stepflow_metric *metrics, size_t count);

    /* ---- Appended after the first release of ABI 1 (host API 1.1). A plugin calls a member below only when
     * STEPFLOW_HOST_HAS(host_api, member) says the host has it; on an older host it uses emit_metrics. ---- */

    /**
     * Registers a counter or gauge series once (its name, help, type and labels, checked as emit_metrics
     * checks them; `value` and `timestamp_ms` are ignored) and stores its number in *out_series. Registering
     * the same name and labels again returns the same number. Call it from create or collect_metrics, then
     * hand over only values with emit_values: the host does not read or check the strings again, which makes
     * a collection of many series several times cheaper than emit_metrics. Returns STEPFLOW_OK, or
     * STEPFLOW_ERR_INVALID (with the reason logged and counted) for a series emit_metrics would refuse, a
     * histogram or summary, or NULL arguments, or STEPFLOW_ERR_BUDGET past the
     * host's limit of 100,000 registered series per instance (budgets.series still applies to what is stored).
     * The strings are copied before it returns.
     */
    int32_t (*register_series)(stepflow_host *host, const stepflow_metric *series, stepflow_series *out_series);

    /**
     * Hands values of registered series to the host during collect_metrics, like emit_metrics (it may be
     * called several times, mixed with emit_metrics, and shares its budget). A value of an unknown series, or
     * a counter value that is negative or not finite, is refused on its own and counted.
     */
    int32_t (*emit_values)(stepflow_emitter *emitter, const stepflow_value *values, size_t count);
} stepflow_host_api;

/** Whether the host-API table `api` has `member` (a host older than the plugin's header may not). */
#define STEPFLOW_HOST_HAS(api, member) \
    ((api)->struct_size >= offsetof(stepflow_host_api, member) + sizeof((api)->member))

/* ---- The plugin side ----------------------------------------------------------------------------------- */

/** What a plugin is and does. Returned by the entry symbol; must stay valid while the library is loaded. */
typedef struct stepflow_plugin_descriptor {
    uint32_t abi_version;            /* STEPFLOW_PLUGIN_ABI_VERSION the plugin was built against */
    uint32_t struct_size;            /* sizeof(stepflow_plugin_descriptor) as the plugin was compiled */

    const char *name;                /* NUL-terminated, e.g. "filesystem" */
    const char *version;             /* NUL-terminated, e.g. "1.0.0" */
    const char *description;         /* NUL-terminated, may be NULL */
    uint64_t capabilities;           /* STEPFLOW_CAP_* bits */
    uint32_t default_interval_ms;    /* how often to call the plugin when the config does not say */
    uint32_t reserved;               /* 0 */

    /**
     * Creates one instance with the settings from the config's `settings:` map (values as text).
     * On success stores an opaque context in *out_context and returns STEPFLOW_OK; on failure calls
     * host_api->set_error(host, ...) and returns an error code.
     */
    int32_t (*create)(const stepflow_host_api *host_api, stepflow_host *host,
                      const stepflow_setting *settings, size_t setting_count, void **out_context);

    /** Frees an instance. Called once, after the last call on it. */
    void (*destroy)(void *context);

    /** STEPFLOW_CAP_METRICS_COLLECTOR: sends the current samples through host_api->emit_metrics. */
    int32_t (*collect_metrics)(void *context, stepflow_emitter *emitter);

    /**
     * STEPFLOW_CAP_METRICS_COLLECTOR, optional (may be NULL): the names of the metrics the plugin emits.
     * The array and strings are owned by the plugin and stay valid until the next call on this context.
     */
    int32_t (*metric_names)(void *context, const stepflow_str **out_names, size_t *out_count);

    /** STEPFLOW_CAP_LOG_EXPORTER: exports a batch of log entries, oldest first. */
    int32_t (*export_logs)(void *context, const stepflow_log_record *records, size_t count);

    /** STEPFLOW_CAP_ALERT_NOTIFIER: sends a notification about a firing or resolved alert. */
    int32_t (*send_notification)(void *context, const stepflow_alert *alert);

    /** STEPFLOW_CAP_ALERT_NOTIFIER: tells that `alert_id` was acknowledged by `user` with `message`. */
    int32_t (*send_acknowledgment)(void *context, stepflow_str alert_id, stepflow_str user, stepflow_str message);

    /* ---- Appended after the first release of ABI 1. The host reads a member below only when the plugin's
     * struct_size covers it; a plugin built against the earlier header simply has none of them. ---- */

    /** STEPFLOW_CAP_LOG_EXPORTER, optional: the formats the exporter writes, comma-separated, NUL-terminated
     *  (the spec's get_supported_formats), e.g. "ndjson,json". NULL when unknown. */
    const char *supported_formats;

    /** STEPFLOW_CAP_ALERT_NOTIFIER, optional: the channels the notifier reaches, comma-separated,
     *  NUL-terminated (the spec's get_supported_channels), e.g. "email,slack". NULL when unknown. */
    const char *supported_channels;
} stepflow_plugin_descriptor;

/**
 * The size of the first published descriptor (ABI 1, up to send_acknowledgment): the host refuses a smaller
 * struct_size. Members added later (supported_formats, …) lie past this offset.
 */
#define STEPFLOW_PLUGIN_DESCRIPTOR_V1_SIZE \
    (offsetof(stepflow_plugin_descriptor, send_acknowledgment) + sizeof(void *))

/** The entry symbol's type. Return NULL to refuse the host (e.g. an abi_version the plugin does not speak). */
typedef const stepflow_plugin_descriptor *(*stepflow_plugin_register_fn)(const stepflow_host_api *host_api);

#ifdef __cplusplus
}
#endif

#endif /* STEPFLOW_PLUGIN_H */
