import Foundation
import StepflowCore
import StepflowPluginHost
import Testing

@Suite("The example file notifier (Swift SDK)")
struct FileNotifierTests {
    @Test("it describes itself as an alert notifier on the file channel")
    func describesItself() throws {
        let library = try PluginLibrary.load(path: PluginFixtures.fileNotifier())
        #expect(library.info.name == "file-notifier")
        #expect(library.info.capabilities == .alertNotifier)
        #expect(library.info.supportedChannels == ["file"])
        #expect(library.info.supportedFormats.isEmpty)
    }

    @Test("notifications and acknowledgments land in its file, one JSON line each")
    func writesNotificationsAndAcknowledgments() async throws {
        let path = PluginFixtures.freshPath("notifier") + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try await PluginInstance(
            library: PluginLibrary.load(path: PluginFixtures.fileNotifier()), settings: ["path": .string(path)])
        let firing = PluginAlert(
            alertID: "alert-1", ruleID: "rule-7", name: "HighLoad", description: "load \"high\"\non db1",
            severity: "critical", status: "firing",
            labels: [(name: "host", value: "db1"), (name: "zone", value: "eu-ß")],
            annotations: [(name: "runbook", value: "https://example.test/rb?a=1&b=2")],
            value: 4.25, firedAt: Date(timeIntervalSince1970: 1_700_000_000))
        var resolved = firing
        resolved.status = "resolved"
        resolved.value = .infinity
        resolved.resolvedAt = Date(timeIntervalSince1970: 1_700_000_060.5)
        try await instance.sendNotification(firing)
        try await instance.sendAcknowledgment(alertID: "alert-1", user: "ops@example", message: "on it — 👀")
        try await instance.sendNotification(resolved)
        await instance.shutdown()

        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = try text.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        try #require(lines.count == 3)
        #expect(lines[0]["kind"] as? String == "notification")
        #expect(lines[0]["alert_id"] as? String == "alert-1")
        #expect(lines[0]["rule_id"] as? String == "rule-7")
        #expect(lines[0]["name"] as? String == "HighLoad")
        #expect(lines[0]["description"] as? String == "load \"high\"\non db1")
        #expect(lines[0]["severity"] as? String == "critical")
        #expect(lines[0]["status"] as? String == "firing")
        #expect(lines[0]["value"] as? Double == 4.25)
        #expect(lines[0]["fired_at_ms"] as? Int == 1_700_000_000_000)
        #expect(lines[0]["resolved_at_ms"] is NSNull)
        #expect(lines[0]["labels"] as? [String: String] == ["host": "db1", "zone": "eu-ß"])
        #expect(lines[0]["annotations"] as? [String: String] == ["runbook": "https://example.test/rb?a=1&b=2"])

        #expect(lines[1]["kind"] as? String == "acknowledgment")
        #expect(lines[1]["alert_id"] as? String == "alert-1")
        #expect(lines[1]["user"] as? String == "ops@example")
        #expect(lines[1]["message"] as? String == "on it — 👀")

        #expect(lines[2]["status"] as? String == "resolved")
        #expect(lines[2]["value"] is NSNull)
        #expect(lines[2]["resolved_at_ms"] as? Int == 1_700_000_060_500)
    }

    @Test("create without `path` is refused with the plugin's message")
    func createWithoutPathFails() async throws {
        let library = try PluginLibrary.load(path: PluginFixtures.fileNotifier())
        let error = await #expect(throws: PluginError.self) { _ = try await PluginInstance(library: library) }
        #expect(error?.code == .createFailed)
        #expect(error?.message.contains("setting 'path' is required") == true)
    }

    @Test("exportLogs on a notifier is refused as unsupported")
    func refusesExportLogs() async throws {
        let path = PluginFixtures.freshPath("notifier-refusal")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try await PluginInstance(
            library: PluginLibrary.load(path: PluginFixtures.fileNotifier()), settings: ["path": .string(path)])
        let error = await #expect(throws: PluginError.self) {
            try await instance.exportLogs([PluginLogRecord(level: .info, message: "x", timestamp: Date())])
        }
        #expect(error?.code == .unsupported)
        await instance.shutdown()
    }
}
