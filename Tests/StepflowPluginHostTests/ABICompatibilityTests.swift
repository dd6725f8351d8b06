import Foundation
import StepflowCore
import StepflowPluginHost
import Testing

/// A collector whose descriptor type is chosen by the including source: `DESCRIPTOR_T` and `DESCRIPTOR_INIT`.
private func collectorSource(descriptorDefinition: String, abiVersion: String = "STEPFLOW_PLUGIN_ABI_VERSION") -> String {
    """
    #include "stepflow_plugin.h"
    #include <stdlib.h>

    \(descriptorDefinition)

    static int32_t create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *s, size_t n,
                          void **out) {
        (void)host; (void)s; (void)n;
        *out = (void *)api;
        return STEPFLOW_OK;
    }
    static void destroy(void *context) { (void)context; }
    static int32_t collect(void *context, stepflow_emitter *emitter) {
        const stepflow_host_api *api = context;
        stepflow_metric metric = {0};
        metric.name = (stepflow_str){"compat_up", 9};
        metric.type = STEPFLOW_METRIC_GAUGE;
        metric.value = 1;
        return api->emit_metrics(emitter, &metric, 1);
    }

    static const DESCRIPTOR_T descriptor = {
        .abi_version = \(abiVersion), .struct_size = sizeof(DESCRIPTOR_T),
        .name = "compat", .version = "0.1.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
        .default_interval_ms = 1000, .create = create, .destroy = destroy, .collect_metrics = collect,
        DESCRIPTOR_EXTRA
    };

    const void *stepflow_plugin_register(const stepflow_host_api *api) {
        (void)api;
        return &descriptor;
    }
    """
}

/// The descriptor exactly as the first ABI 1 header published it (up to send_acknowledgment).
private let firstReleaseDescriptor = """
    typedef struct {
        uint32_t abi_version; uint32_t struct_size;
        const char *name; const char *version; const char *description;
        uint64_t capabilities; uint32_t default_interval_ms; uint32_t reserved;
        int32_t (*create)(const stepflow_host_api *, stepflow_host *, const stepflow_setting *, size_t, void **);
        void (*destroy)(void *);
        int32_t (*collect_metrics)(void *, stepflow_emitter *);
        int32_t (*metric_names)(void *, const stepflow_str **, size_t *);
        int32_t (*export_logs)(void *, const stepflow_log_record *, size_t);
        int32_t (*send_notification)(void *, const stepflow_alert *);
        int32_t (*send_acknowledgment)(void *, stepflow_str, stepflow_str, stepflow_str);
    } old_descriptor;
    #define DESCRIPTOR_T old_descriptor
    #define DESCRIPTOR_EXTRA
    """

/// A descriptor from a future header: today's members plus ones this host has never heard of.
private let futureDescriptor = """
    typedef struct {
        stepflow_plugin_descriptor current;
        const char *member_from_the_future;
        int64_t another_future_member;
    } future_wrapper;
    typedef struct {
        uint32_t abi_version; uint32_t struct_size;
        const char *name; const char *version; const char *description;
        uint64_t capabilities; uint32_t default_interval_ms; uint32_t reserved;
        int32_t (*create)(const stepflow_host_api *, stepflow_host *, const stepflow_setting *, size_t, void **);
        void (*destroy)(void *);
        int32_t (*collect_metrics)(void *, stepflow_emitter *);
        int32_t (*metric_names)(void *, const stepflow_str **, size_t *);
        int32_t (*export_logs)(void *, const stepflow_log_record *, size_t);
        int32_t (*send_notification)(void *, const stepflow_alert *);
        int32_t (*send_acknowledgment)(void *, stepflow_str, stepflow_str, stepflow_str);
        const char *supported_formats;
        const char *supported_channels;
        const char *member_from_the_future;
        int64_t another_future_member;
    } future_descriptor;
    #define DESCRIPTOR_T future_descriptor
    #define DESCRIPTOR_EXTRA .supported_formats = "ndjson", .member_from_the_future = "ignored", .another_future_member = 7,
    """

@Suite("ABI compatibility")
struct ABICompatibilityTests {
    @Test("a plugin built against the first ABI 1 header (smaller descriptor) loads and collects on this host")
    func olderHeaderLoads() async throws {
        let path = try CSourceCompiler.build(collectorSource(descriptorDefinition: firstReleaseDescriptor), name: "old_header")
        let library = try PluginLibrary.load(path: path)
        #expect(Int(library.info.structSize) == PluginABI.descriptorV1Size)
        #expect(Int(library.info.structSize) < PluginABI.hostDescriptorSize)
        #expect(library.info.supportedFormats.isEmpty, "members past the plugin's struct_size must read as absent")
        let instance = try await PluginInstance(library: library)
        let metrics = try await instance.collectMetrics()
        await instance.shutdown()
        #expect(metrics.map(\.name) == ["compat_up"])
    }

    @Test("a plugin from a newer header of the same ABI (larger descriptor) loads; unknown members are ignored")
    func newerHeaderSameABILoads() async throws {
        let path = try CSourceCompiler.build(collectorSource(descriptorDefinition: futureDescriptor), name: "new_header")
        let library = try PluginLibrary.load(path: path)
        #expect(Int(library.info.structSize) > PluginABI.hostDescriptorSize)
        #expect(library.info.supportedFormats == ["ndjson"])
        let instance = try await PluginInstance(library: library)
        #expect(try await instance.collectMetrics().map(\.name) == ["compat_up"])
        await instance.shutdown()
    }

    @Test("a plugin built for a newer ABI major version is refused with a message naming both versions")
    func newerABIRefused() throws {
        let source = collectorSource(descriptorDefinition: futureDescriptor, abiVersion: "2")
        let path = try CSourceCompiler.build(source, name: "abi_two")
        let error = #expect(throws: PluginError.self) { try PluginLibrary.load(path: path) }
        #expect(error?.code == .abiMismatch)
        #expect(error?.message.contains("ABI version 2") == true)
        #expect(error?.message.contains("ABI version 1") == true)
        #expect(error?.path == path)
    }
}
