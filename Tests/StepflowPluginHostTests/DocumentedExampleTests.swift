import Foundation
import StepflowTestSupport
import StepflowCore
import StepflowPluginHost
import Testing

@Suite("The C plugin in docs/examples")
struct DocumentedExampleTests {
    @Test("builds with the one cc line the guide gives, loads, and collects its metric")
    func buildsAndCollects() async throws {
        let output = Scratch.rootURL.appendingPathComponent("libuptime-\(UUID().uuidString).so")
        defer { try? FileManager.default.removeItem(at: output) }
        let build = try ChildProcess.run(
            "/usr/bin/env",
            ["cc", "-shared", "-fPIC", "-I", "Sources/CStepflowPlugin/include", "-o", output.path,
             "docs/examples/uptime_collector.c"],
            currentDirectory: PluginFixtures.packageRoot.path)
        #expect(build.status == 0, "\(build.output)")

        let library = try PluginLibrary.load(path: output.path)
        #expect(library.info.name == "uptime")
        let instance = try await PluginInstance(library: library)
        let metrics = try await instance.collectMetrics()
        #expect(try await instance.metricNames() == ["example_uptime_seconds"])
        await instance.shutdown()
        let uptime = try #require(metrics.first)
        #expect(uptime.name == "example_uptime_seconds")
        guard case .gauge(let seconds) = uptime.value else {
            Issue.record("expected a gauge, got \(uptime.value)")
            return
        }
        #expect(seconds > 0)

        let refused = await #expect(throws: PluginError.self) {
            try await PluginInstance(library: library, settings: ["colour": .string("blue")])
        }
        #expect(refused?.code == .createFailed)
        #expect(refused?.message.contains("unknown setting") == true)
    }
}
