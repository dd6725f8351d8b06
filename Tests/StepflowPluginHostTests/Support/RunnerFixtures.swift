import Foundation
import Synchronization
import StepflowTestSupport
import Logging
import StepflowCore
import StepflowPluginHost

/// A C plugin for the process-isolation tests, and where the `stepflow-monitor` runner executable is.
enum RunnerFixtures {
    /// The plugin. Setting `mode`: `crash_on` segfaults on call number `crash_on` (counted per process),
    /// `abort` aborts, `exit` exits with status 3, `malloc` allocates `alloc_mb` MiB without touching them,
    /// `log` logs through the host API and writes to stderr and stdout, anything else emits one gauge. Setting `gate`: a file each call waits for before doing anything.
    static let source = #"""
        #include "stepflow_plugin.h"
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        #include <pthread.h>

        typedef struct { const stepflow_host_api *api; stepflow_host *host; char mode[32]; char gate[1024];
                         long crash_on; long alloc_mb; long calls; } rx;

        static stepflow_str S(const char *text) { stepflow_str s = { text, strlen(text) }; return s; }

        static void copy(char *out, size_t size, stepflow_str value) {
            size_t n = value.len < size - 1 ? value.len : size - 1;
            if (n) memcpy(out, value.ptr, n);
            out[n] = '\0';
        }

        static int is(stepflow_str name, const char *key) { return name.len == strlen(key) && memcmp(name.ptr, key, name.len) == 0; }

        static int32_t rx_create(const stepflow_host_api *api, stepflow_host *host, const stepflow_setting *settings,
                                 size_t count, void **out) {
            rx *c = calloc(1, sizeof *c);
            char number[32];
            c->api = api; c->host = host;
            for (size_t i = 0; i < count; i++) {
                if (is(settings[i].name, "mode")) copy(c->mode, sizeof c->mode, settings[i].value);
                if (is(settings[i].name, "gate")) copy(c->gate, sizeof c->gate, settings[i].value);
                if (is(settings[i].name, "crash_on")) { copy(number, sizeof number, settings[i].value); c->crash_on = atol(number); }
                if (is(settings[i].name, "alloc_mb")) { copy(number, sizeof number, settings[i].value); c->alloc_mb = atol(number); }
            }
            *out = c;
            return STEPFLOW_OK;
        }

        static void rx_destroy(void *c) { free(c); }

        static void *crash_later(void *unused) {
            (void)unused;
            usleep(100000);
            volatile int *nowhere = NULL;
            *nowhere = 1;
            return NULL;
        }

        static int32_t rx_collect(void *opaque, stepflow_emitter *emitter) {
            rx *c = opaque;
            c->calls++;
            if (c->gate[0]) { while (access(c->gate, F_OK) != 0) usleep(10000); }
            if (strcmp(c->mode, "crash_on") == 0 && c->calls == c->crash_on) {
                fprintf(stderr, "runner fixture: crashing on call %ld\n", c->calls);
                fflush(stderr);
                volatile int *nowhere = NULL;
                *nowhere = 1;
            }
            if (strcmp(c->mode, "log") == 0) {
                c->api->log(c->host, STEPFLOW_LOG_INFO, S("runner fixture says hello"));
                fprintf(stderr, "runner fixture: stray output\n");
                printf("runner fixture: printf to stdout\n");
                fflush(stdout);
            }
            if (strcmp(c->mode, "abort") == 0) abort();
            if (strcmp(c->mode, "thread_crash") == 0) {
                /* A thread of the plugin's own that crashes 100 ms after collect_metrics returned. */
                pthread_t thread;
                if (pthread_create(&thread, NULL, crash_later, NULL) == 0) pthread_detach(thread);
            }
            if (strcmp(c->mode, "exit") == 0) exit(3);
            if (strcmp(c->mode, "malloc") == 0) {
                void *block = malloc((size_t)c->alloc_mb << 20);
                if (!block) {
                    c->api->set_error(c->host, S("malloc refused the allocation"));
                    return STEPFLOW_ERR_UNAVAILABLE;
                }
                free(block);
            }
            if (strcmp(c->mode, "leak") == 0) {
                /* Keeps alloc_mb more on every call, as a leaking plugin does, until the limit refuses it. */
                if (!malloc((size_t)c->alloc_mb << 20)) {
                    c->api->set_error(c->host, S("the leak reached limits.memory"));
                    return STEPFLOW_ERR_NOMEM;
                }
            }
            if (strcmp(c->mode, "fail") == 0) {
                c->api->set_error(c->host, S("the fixture always fails"));
                return STEPFLOW_ERR_FAILED;
            }
            stepflow_metric m;
            memset(&m, 0, sizeof m);
            m.name = S("runner_fixture_calls");
            m.help = S("Calls served by this runner.");
            m.type = STEPFLOW_METRIC_GAUGE;
            m.value = (double)c->calls;
            return c->api->emit_metrics(emitter, &m, 1);
        }

        static const stepflow_plugin_descriptor descriptor = {
            .abi_version = STEPFLOW_PLUGIN_ABI_VERSION, .struct_size = sizeof(stepflow_plugin_descriptor),
            .name = "runner_fixture", .version = "0.1.0", .capabilities = STEPFLOW_CAP_METRICS_COLLECTOR,
            .default_interval_ms = 1000, .create = rx_create, .destroy = rx_destroy, .collect_metrics = rx_collect,
        };

        const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
            (void)api;
            return &descriptor;
        }
        """#

    /// The compiled plugin, built once per test process.
    static func plugin() throws -> String { try compiled.get() }

    private static let compiled: Result<String, PluginFixtures.SetupError> = Result {
        let directory = Scratch.rootURL.appendingPathComponent(
            "stepflow-runner-fixture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let sourceFile = directory.appendingPathComponent("runner_fixture.c")
        try source.write(to: sourceFile, atomically: true, encoding: .utf8)
        let output = directory.appendingPathComponent("librunner_fixture.so").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "cc", "-shared", "-fPIC", "-I", PluginFixtures.headerDirectory.path, "-o", output, sourceFile.path,
        ]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = ChildProcess.readToEnd(errors.fileHandleForReading.fileDescriptor)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PluginFixtures.SetupError(description: "cc failed: " + String(decoding: message, as: UTF8.self))
        }
        return output
    }.mapError { $0 as? PluginFixtures.SetupError ?? PluginFixtures.SetupError(description: "\($0)") }

    /// The `stepflow-monitor` executable `swift test` built beside the test bundle.
    static func runner() throws -> String {
        try PluginFixtures.binPath().appendingPathComponent("stepflow-monitor").path
    }

    /// No backoff, for tests that crash the runner many times: the next call starts a runner at once, so no test
    /// has to wait (sleep) for a backoff to pass. The backoff itself has tests of its own with a long delay.
    static let quickRestarts = RunnerRestartPolicy(initialDelay: .zero, maxDelay: .zero, stableAfter: .seconds(300))

    /// Starts `library` in a runner.
    static func isolated(
        _ library: String, settings: [String: JSONValue] = [:], limits: PluginLimits = .none,
        sampleBudget: Int = PluginInstance.defaultSampleBudget,
        restartPolicy: RunnerRestartPolicy = quickRestarts, clock: BackoffClock? = nil,
        logger: Logger = Logger(label: "stepflow.plugin")
    ) async throws -> IsolatedPluginInstance {
        let info = try PluginLibrary.load(path: library).info
        let now: @Sendable () -> ContinuousClock.Instant
        if let clock { now = { clock.now } } else { now = { ContinuousClock.now } }
        return try await IsolatedPluginInstance(
            info: info, settings: settings, limits: limits, sampleBudget: sampleBudget, runnerExecutable: runner(),
            restartPolicy: restartPolicy, now: now, logger: logger)
    }
}

/// A continuous-clock instant the test moves by hand, for an instance's restart backoff.
final class BackoffClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = Mutex(Duration.zero)

    var now: ContinuousClock.Instant { start.advanced(by: offset.withLock { $0 }) }

    func advance(by duration: Duration) { offset.withLock { $0 += duration } }
}
