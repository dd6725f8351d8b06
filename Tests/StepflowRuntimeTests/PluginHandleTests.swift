import Foundation
import StepflowPluginHost
import StepflowTestSupport
import Testing

/// Issue 12, point 1: a plugin that calls the host with a handle past its life — an emitter after
/// `collect_metrics` returned, a host handle after `destroy` — gets `STEPFLOW_ERR_EXPIRED`, counted and logged,
/// never a crash, in either isolation mode.
@Suite("Late host-API calls", .serialized)
struct PluginHandleTests {
    static func build() throws -> PluginLibrary {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/late_emitter.c").path
        let output = Scratch.root + "liblate-\(UUID().uuidString).so"
        try compileCPlugin(source, to: output)
        return try PluginLibrary.load(path: output)
    }

    @Test("in process: emit calls after collect returned and host calls after destroy are refused and counted")
    func inProcess() async throws {
        let library = try Self.build()
        let plugin = try await PluginInstance(library: library, name: "late-in-process")
        for _ in 0..<3 { _ = try await plugin.collectMetrics() }
        // Each collection's thread makes two late calls (emit_metrics, emit_values) 50 ms after it returned.
        #expect(await eventually(10) { PluginAPIMisuse.count(plugin: "late-in-process") >= 6 })
        await plugin.shutdown()
        #expect(await eventually(10) { PluginAPIMisuse.count(plugin: "late-in-process") >= 8 })
        let calls = Set(PluginAPIMisuse.all.filter { $0.plugin == "late-in-process" }.map(\.call))
        #expect(calls == ["emit_metrics", "emit_values", "log", "set_error"], "\(calls)")
    }

    @Test("isolation: process: the late calls cost the runner nothing")
    func inRunner() async throws {
        let library = try Self.build()
        let marker = Scratch.root + "late-marker-\(UUID().uuidString)"
        let plugin = try await IsolatedPluginInstance(
            info: library.info, name: "late-runner", settings: ["marker": .string(marker)],
            runnerExecutable: buildProductsDirectory + "/stepflow-monitor")
        for round in 1...3 {
            _ = try await plugin.collectMetrics()
            // The runner survived the late calls of this round when their thread wrote its line.
            #expect(await eventually(10) {
                ((try? String(contentsOfFile: marker, encoding: .utf8)) ?? "").split(separator: "\n").count >= round
            })
        }
        _ = try await plugin.collectMetrics()
        #expect(plugin.restarts == 0)
        await plugin.shutdown()
    }
}
