/// The C source of the small plugins the tests compile; each `-D` variant breaks it in one way.
///
/// Kept in a Swift string because a `.c` file in a Swift test target would be compiled by SwiftPM.
enum FixturePluginSource {
    /// A library the `FIXTURE_NEEDS_DEP` variant links against, placed where the loader does not look.
    static let dependency = """
        int stepflow_fixture_dependency(void) { return 1; }
        """

    /// The plugin. Settings: `mode` picks what `collect_metrics` emits or does; `gate` names a file the call
    /// waits for (so a test decides when a "hung" call returns).
    static let plugin = #"""
        #include "stepflow_plugin.h"
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>

        #ifndef FIXTURE_ABI
        #define FIXTURE_ABI STEPFLOW_PLUGIN_ABI_VERSION
        #endif
        #ifndef FIXTURE_STRUCT_SIZE
        #define FIXTURE_STRUCT_SIZE sizeof(stepflow_plugin_descriptor)
        #endif
        #ifdef FIXTURE_NULL_NAME
        #define FIXTURE_NAME NULL
        #else
        #define FIXTURE_NAME "fixture"
        #endif
        #ifdef FIXTURE_NO_COLLECT
        #define FIXTURE_COLLECT NULL
        #else
        #define FIXTURE_COLLECT fx_collect
        #endif

        typedef struct fx_context {
            const stepflow_host_api *api;
            stepflow_host *host;
            char mode[64];
            char gate[1024];
            unsigned collections;
            char rotating[32];
        } fx_context;

        static stepflow_str S(const char *text) { stepflow_str s = { text, strlen(text) }; return s; }

        static void copy_setting(char *out, size_t size, stepflow_str value) {
            size_t n = value.len < size - 1 ? value.len : size - 1;
            if (n) memcpy(out, value.ptr, n);
            out[n] = '\0';
        }

        static int32_t fx_create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                                 size_t count, void **out) {
        #ifdef FIXTURE_CREATE_SLOW
            sleep(10); /* far past the inspection timeout, even when a loaded machine fires that timer late */
        #endif
        #ifdef FIXTURE_CREATE_FAILS
            (void)settings; (void)count; (void)out;
            api->set_error(host, S("the fixture needs the setting 'token' (got none)"));
            return STEPFLOW_ERR_INVALID;
        #else
            fx_context *c = calloc(1, sizeof *c);
            c->api = api;
            c->host = host;
            for (size_t i = 0; i < count; i++) {
                if (settings[i].name.len == 4 && memcmp(settings[i].name.ptr, "mode", 4) == 0)
                    copy_setting(c->mode, sizeof c->mode, settings[i].value);
                if (settings[i].name.len == 4 && memcmp(settings[i].name.ptr, "gate", 4) == 0)
                    copy_setting(c->gate, sizeof c->gate, settings[i].value);
            }
            *out = c;
            return STEPFLOW_OK;
        #endif
        }

        static void fx_destroy(void *c) { free(c); }

        static int32_t fx_collect(void *opaque, stepflow_emitter *emitter) {
            fx_context *c = opaque;
            if (c->gate[0]) {
                while (access(c->gate, F_OK) != 0) usleep(10000);
            }
            if (strcmp(c->mode, "fail") == 0) {
                c->api->set_error(c->host, S("the fixture's disk is on fire"));
                return STEPFLOW_ERR_FAILED;
            }
            stepflow_label labels[2] = { { S("a"), S("1") }, { S("b"), S("2") } };
            stepflow_label good = { S("a"), S("1") };
            stepflow_bucket buckets[2] = { { 2.0, 1 }, { 1.0, 2 } };
            stepflow_metric m[2];
            memset(m, 0, sizeof m);
            m[0].name = S("fixture_invalid");
            m[0].type = STEPFLOW_METRIC_GAUGE;
            m[0].value = 1;
            if (strcmp(c->mode, "infinite_counter") == 0) { m[0].type = STEPFLOW_METRIC_COUNTER; m[0].value = __builtin_inf(); }
            else if (strcmp(c->mode, "negative_counter") == 0) { m[0].type = STEPFLOW_METRIC_COUNTER; m[0].value = -1; }
            else if (strcmp(c->mode, "bad_name") == 0) m[0].name = S("1bad");
            else if (strcmp(c->mode, "empty_name") == 0) m[0].name = S("");
            else if (strcmp(c->mode, "invalid_utf8") == 0) m[0].name = S("fixture_\xff");
            else if (strcmp(c->mode, "bad_label") == 0) {
                labels[0].name = S("bad-label");
                m[0].labels = labels; m[0].label_count = 1;
            }
            else if (strcmp(c->mode, "duplicate_label") == 0) {
                labels[1].name = S("a");
                m[0].labels = labels; m[0].label_count = 2;
            }
            else if (strcmp(c->mode, "descending_buckets") == 0) {
                m[0].type = STEPFLOW_METRIC_HISTOGRAM; m[0].count = 2; m[0].buckets = buckets; m[0].bucket_count = 2;
            }
            else if (strcmp(c->mode, "unknown_type") == 0) m[0].type = 42;
            else if (strcmp(c->mode, "null_labels") == 0) m[0].label_count = 3;
            else if (strcmp(c->mode, "nan_counter") == 0) { m[0].type = STEPFLOW_METRIC_COUNTER; m[0].value = __builtin_nan(""); }
            else if (strcmp(c->mode, "long_name") == 0) {
                static char name[300];
                memset(name, 'n', sizeof name);
                m[0].name.ptr = name; m[0].name.len = 257;
            }
            else if (strcmp(c->mode, "long_label_name") == 0) {
                static char name[300];
                memset(name, 'l', sizeof name);
                labels[0].name.ptr = name; labels[0].name.len = 257;
                m[0].labels = labels; m[0].label_count = 1;
            }
            else if (strcmp(c->mode, "long_help") == 0) {
                static char help[2000];
                memset(help, 'h', sizeof help);
                m[0].help.ptr = help; m[0].help.len = 1025;
            }
            else if (strcmp(c->mode, "huge_label_value") == 0) {
                static char value[1 << 20];
                memset(value, 'v', sizeof value);
                labels[0].value.ptr = value; labels[0].value.len = sizeof value;
                m[0].labels = labels; m[0].label_count = 1;
            }
            else if (strcmp(c->mode, "many_labels") == 0) {
                /* 100,000 labels, all named "a": refused for their number before any is read. */
                static stepflow_label many[100000];
                for (size_t i = 0; i < 100000; i++) { many[i].name = S("a"); many[i].value = S("1"); }
                m[0].labels = many; m[0].label_count = 100000;
            }
            else if (strcmp(c->mode, "invalid_utf8_label_value") == 0) {
                labels[0].value = S("\xc3\x28");
                m[0].labels = labels; m[0].label_count = 1;
            }
            else if (strcmp(c->mode, "nan_histogram_sum") == 0) {
                m[0].type = STEPFLOW_METRIC_HISTOGRAM; m[0].sum = __builtin_nan(""); m[0].count = 1;
            }
            else if (strcmp(c->mode, "inf_summary_sum") == 0) {
                m[0].type = STEPFLOW_METRIC_SUMMARY; m[0].sum = __builtin_inf(); m[0].count = 1;
            }
            else if (strcmp(c->mode, "negative_inf_bucket") == 0) {
                buckets[0].upper_bound = -__builtin_inf(); buckets[0].count = 0;
                m[0].type = STEPFLOW_METRIC_HISTOGRAM; m[0].count = 2; m[0].buckets = buckets; m[0].bucket_count = 1;
            }
            else if (strcmp(c->mode, "nan_gauge") == 0) m[0].value = __builtin_nan("");
            else if (strcmp(c->mode, "inf_gauge") == 0) m[0].value = -__builtin_inf();
            else if (strcmp(c->mode, "rotating_value") == 0) {
                /* The same buffer, rewritten every collection: the host must not reuse the previous value. */
                c->collections++;
                snprintf(c->rotating, sizeof c->rotating, "collection-%u", c->collections);
                labels[0].value = S(c->rotating);
                m[0].labels = labels; m[0].label_count = 1;
            }
            else if (strcmp(c->mode, "many_values") == 0) {
                /* More distinct label values than the host's name cache holds, emitted twice. */
                enum { N = 20000 };
                static stepflow_metric many[N];
                static stepflow_label many_labels[N];
                static char text[N][16];
                for (size_t i = 0; i < N; i++) {
                    snprintf(text[i], sizeof text[i], "value-%05zu", i);
                    many_labels[i].name = S("a"); many_labels[i].value = S(text[i]);
                    memset(&many[i], 0, sizeof many[i]);
                    many[i].name = S("fixture_many"); many[i].type = STEPFLOW_METRIC_GAUGE; many[i].value = (double)i;
                    many[i].labels = &many_labels[i]; many[i].label_count = 1;
                }
                int32_t status = c->api->emit_metrics(emitter, many, N);
                if (status != STEPFLOW_OK) return status;
                return c->api->emit_metrics(emitter, many, N);
            }
            m[1].name = S("fixture_ok");
            m[1].help = S("A sample the host accepts.");
            m[1].type = STEPFLOW_METRIC_COUNTER;
            m[1].value = 7;
            m[1].labels = &good;
            m[1].label_count = 1;
            return c->api->emit_metrics(emitter, c->mode[0] ? m : m + 1, c->mode[0] ? 2 : 1);
        }

        static const stepflow_plugin_descriptor descriptor = {
            .abi_version = FIXTURE_ABI,
            .struct_size = FIXTURE_STRUCT_SIZE,
            .name = FIXTURE_NAME,
            .version = "0.1.0",
            .description = "a test fixture",
            .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
            .default_interval_ms = 1000,
            .create = fx_create,
            .destroy = fx_destroy,
            .collect_metrics = FIXTURE_COLLECT,
        };

        #ifdef FIXTURE_NEEDS_DEP
        extern int stepflow_fixture_dependency(void);
        int (*volatile fixture_dependency_ref)(void) = stepflow_fixture_dependency;
        #endif

        #ifdef FIXTURE_NO_ENTRY
        const stepflow_plugin_descriptor *stepflow_plugin_register_misspelled(const stepflow_host_api *api) {
        #else
        const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
        #endif
            (void)api;
        #ifdef FIXTURE_ENTRY_NULL
            return NULL;
        #else
            return &descriptor;
        #endif
        }
        """#
}
