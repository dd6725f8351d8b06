import Foundation
import StepflowCore
import Testing

@testable import StepflowPluginHost

/// A plugin whose entry point crashes (`crash`) or never returns (`hang`) as it is loaded.
private func brokenLoaderSource(_ mode: String) -> String {
    """
    #include "stepflow_plugin.h"
    #include <signal.h>
    #include <unistd.h>
    const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *api) {
        (void)api;
        if (\(mode == "crash" ? 1 : 0)) raise(SIGSEGV);
        for (;;) pause();
        return 0;
    }
    """
}

@Suite("Describing a plugin in a runner, without loading it into the host")
struct RunnerDescribeTests {
    @Test("the runner reports the same descriptor the host would read")
    func sameDescriptor() async throws {
        let path = try PluginFixtures.filesystemCollector()
        let described = try await IsolatedPluginInstance.describe(path: path, runnerExecutable: RunnerFixtures.runner())
        #expect(described == (try PluginLibrary.load(path: path)).info)
    }

    @Test("a plugin that crashes while loading kills only the runner, and the error names the signal")
    func crashWhileLoading() async throws {
        let path = try CSourceCompiler.build(brokenLoaderSource("crash"), name: "crash_on_load")
        let error = await #expect(throws: PluginError.self) {
            try await IsolatedPluginInstance.describe(path: path, runnerExecutable: RunnerFixtures.runner())
        }
        #expect(error?.code == .crashed)
        #expect(error?.message.contains("SIGSEGV") == true, "\(String(describing: error))")
    }

    @Test("a plugin that hangs while loading is given up at the deadline and its runner killed")
    func hangWhileLoading() async throws {
        let path = try CSourceCompiler.build(brokenLoaderSource("hang"), name: "hang_on_load")
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: PluginError.self) {
            try await IsolatedPluginInstance.describe(
                path: path, runnerExecutable: RunnerFixtures.runner(), timeout: .milliseconds(500))
        }
        #expect(error?.code == .timedOut)
        #expect(start.duration(to: clock.now) < .seconds(20))
    }

    @Test("a refusal in the runner (a missing file) comes back as the host's own refusal would")
    func refusalPassesThrough() async throws {
        let error = await #expect(throws: PluginError.self) {
            try await IsolatedPluginInstance.describe(
                path: "/nonexistent/libnothing.so", runnerExecutable: RunnerFixtures.runner())
        }
        #expect(error?.code == .notFound)
        #expect(error?.path == "/nonexistent/libnothing.so")
    }
}
