import Foundation
import StepflowCore
import StepflowPluginHost
import StepflowTestSupport
import Testing

@Suite("The example file log exporter (C)")
struct FileLogExporterTests {
    /// Each line of `path`, parsed as a JSON object.
    private func lines(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        return try text.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test("it describes itself as an NDJSON log exporter")
    func describesItself() throws {
        let library = try PluginLibrary.load(path: PluginFixtures.fileLogExporter())
        #expect(library.info.name == "file-log")
        #expect(library.info.capabilities == .logExporter)
        #expect(library.info.supportedFormats == ["ndjson"])
    }

    @Test("each record becomes one NDJSON line that parses back to the same values")
    func writesRecordsAsNDJSON() async throws {
        let path = PluginFixtures.freshPath("filelog") + ".ndjson"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try await PluginInstance(
            library: PluginLibrary.load(path: PluginFixtures.fileLogExporter()), settings: ["path": .string(path)])
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} ünïcødé 日本 🚀"
        let first = PluginLogRecord(
            id: "r1", level: .warn, message: tricky, timestamp: Date(timeIntervalSince1970: 1_700_000_000.123),
            source: "api", component: "auth", module: "Login", function: "signIn(user:)", line: 42,
            traceID: "t-1", spanID: "s-1", userID: "u\"1", requestID: "req-1",
            fields: [(name: "key \"k\"", value: "line1\nline2"), (name: "emoji", value: "✅")])
        let second = PluginLogRecord(level: .fatal, message: "", timestamp: Date(timeIntervalSince1970: 0))
        try await instance.exportLogs([first, second])
        try await instance.exportLogs([PluginLogRecord(level: .trace, message: "third", timestamp: Date())])
        try await instance.exportLogs([])
        await instance.shutdown()

        let parsed = try lines(path)
        try #require(parsed.count == 3)
        let line = parsed[0]
        #expect(line["id"] as? String == "r1")
        #expect(line["level"] as? String == "warn")
        #expect(line["message"] as? String == tricky)
        #expect(line["timestamp_ms"] as? Int == 1_700_000_000_123)
        #expect(line["source"] as? String == "api")
        #expect(line["component"] as? String == "auth")
        #expect(line["module"] as? String == "Login")
        #expect(line["function"] as? String == "signIn(user:)")
        #expect(line["line"] as? Int == 42)
        #expect(line["trace_id"] as? String == "t-1")
        #expect(line["span_id"] as? String == "s-1")
        #expect(line["user_id"] as? String == "u\"1")
        #expect(line["request_id"] as? String == "req-1")
        #expect(line["fields"] as? [String: String] == ["key \"k\"": "line1\nline2", "emoji": "✅"])

        #expect(parsed[1]["level"] as? String == "fatal")
        #expect(parsed[1]["message"] as? String == "")
        #expect(parsed[1]["timestamp_ms"] as? Int == 0)
        #expect(parsed[1]["line"] is NSNull)
        #expect(parsed[1]["trace_id"] is NSNull)
        #expect(parsed[1]["fields"] as? [String: String] == [:])
        #expect(parsed[2]["message"] as? String == "third")
        #expect(parsed[2]["level"] as? String == "trace")
    }

    @Test("create without `path` is refused with the plugin's message")
    func createWithoutPathFails() async throws {
        let library = try PluginLibrary.load(path: PluginFixtures.fileLogExporter())
        let error = await #expect(throws: PluginError.self) { _ = try await PluginInstance(library: library) }
        #expect(error?.code == .createFailed)
        #expect(error?.message.contains("setting 'path' is required") == true)
        #expect(error?.message.contains("STEPFLOW_ERR_INVALID") == true)
    }

    @Test("a path that cannot be opened is refused naming the path and the reason")
    func unopenablePathFails() async throws {
        let library = try PluginLibrary.load(path: PluginFixtures.fileLogExporter())
        let error = await #expect(throws: PluginError.self) {
            _ = try await PluginInstance(library: library, settings: ["path": .string("/nonexistent-dir/logs.ndjson")])
        }
        #expect(error?.code == .createFailed)
        #expect(error?.message.contains("cannot open /nonexistent-dir/logs.ndjson: No such file or directory") == true)
    }

    @Test("it builds with the one plain cc line its header gives")
    func buildsWithPlainCC() throws {
        let output = Scratch.rootURL.appendingPathComponent("libfilelog-\(UUID().uuidString).so")
        defer { try? FileManager.default.removeItem(at: output) }
        let build = try ChildProcess.run(
            "/usr/bin/env",
            ["cc", "-shared", "-fPIC", "-I", "Sources/CStepflowPlugin/include", "-o", output.path,
             "Plugins/FileLogExporter/file_log_exporter.c"],
            currentDirectory: PluginFixtures.packageRoot.path)
        #expect(build.status == 0, "\(build.output)")
        #expect(try PluginLibrary.load(path: output.path).info.supportedFormats == ["ndjson"])
    }
}

@Suite("Log-exporter and notifier calls refused by capability")
struct CapabilityRefusalTests {
    @Test("exportLogs and the notifier calls on a metrics collector are refused as unsupported")
    func collectorRefusesOtherCalls() async throws {
        let instance = try await PluginInstance(library: PluginLibrary.load(path: PluginFixtures.filesystemCollector()))
        let record = PluginLogRecord(level: .info, message: "hello", timestamp: Date())
        let exportError = await #expect(throws: PluginError.self) { try await instance.exportLogs([record]) }
        #expect(exportError?.code == .unsupported)
        #expect(exportError?.message.contains("not a log exporter") == true)
        let alert = PluginAlert(
            alertID: "a", ruleID: "r", name: "n", severity: "info", status: "firing", value: 1, firedAt: Date())
        let notifyError = await #expect(throws: PluginError.self) { try await instance.sendNotification(alert) }
        #expect(notifyError?.code == .unsupported)
        let ackError = await #expect(throws: PluginError.self) {
            try await instance.sendAcknowledgment(alertID: "a", user: "u", message: "m")
        }
        #expect(ackError?.code == .unsupported)
        #expect(!instance.isBusy)
        await instance.shutdown()
    }

    @Test("collectMetrics on a log exporter is refused as unsupported")
    func exporterRefusesCollection() async throws {
        let path = PluginFixtures.freshPath("filelog-refusal")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try await PluginInstance(
            library: PluginLibrary.load(path: PluginFixtures.fileLogExporter()), settings: ["path": .string(path)])
        let error = await #expect(throws: PluginError.self) { _ = try await instance.collectMetrics() }
        #expect(error?.code == .unsupported)
        await instance.shutdown()
    }
}
