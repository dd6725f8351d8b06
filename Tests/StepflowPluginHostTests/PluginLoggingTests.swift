import Logging
import StepflowPluginHost
import Testing

@Suite("What plugins log")
struct PluginLoggingTests {
    @Test("a plugin's log line reaches the host logger at its level, tagged with the instance name")
    func logLineIsTagged() async throws {
        let (logger, store) = CapturingLogHandler.logger()
        let instance = try await PluginInstance(
            library: PluginLibrary.load(path: PluginFixtures.filesystemCollector()), name: "disks",
            settings: ["paths": .string("/, /nonexistent-mount")], logger: logger)
        _ = try await instance.collectMetrics()
        await instance.shutdown()
        let record = try #require(store.all.first { $0.message.contains("/nonexistent-mount") })
        #expect(record.level == .warning)
        #expect(record.metadata["plugin"] == "disks")
    }
}
