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

/// Issue 12: every C block of docs/plugins.md compiles as it is printed, with warnings as errors, and is a
/// plugin the host loads and calls.
@Suite("The C snippets of docs/plugins.md")
struct DocumentedSnippetTests {
    /// The ```c blocks of the guide, in order.
    static func snippets() throws -> [String] {
        let guide = try String(
            contentsOf: PluginFixtures.packageRoot.appendingPathComponent("docs/plugins.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [Substring]?
        for line in guide.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```c" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n") + "\n")
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    @Test("each C block compiles with -Wall -Wextra -Werror, loads, and answers its capability's call")
    func snippetsBuildAndRun() async throws {
        let blocks = try Self.snippets()
        #expect(blocks.count >= 3, "the guide's C blocks were not found")
        for (index, block) in blocks.enumerated() {
            let library = try CSourceCompiler.build(block, name: "snippet\(index)", flags: ["-Wall", "-Wextra", "-Werror"])
            let loaded = try PluginLibrary.load(path: library)
            let instance = try await PluginInstance(library: loaded)
            if loaded.info.capabilities.contains(.metricsCollector) {
                let batch = try await instance.collectMetrics()
                #expect(!batch.isEmpty, "block \(index) (\(loaded.info.name)) collected nothing")
            }
            if loaded.info.capabilities.contains(.logExporter) {
                try await instance.exportLogs([
                    PluginLogRecord(id: "1", level: .info, message: "from the snippet test", timestamp: Date()),
                ])
            }
            await instance.shutdown()
        }
    }
}
