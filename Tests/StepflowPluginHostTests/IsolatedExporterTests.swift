import Foundation
import StepflowCore
import StepflowPluginHost
import Testing

@Suite("Log exporters and notifiers with isolation: process")
struct IsolatedExporterTests {
    @Test("the file log exporter writes the same NDJSON through a runner as in-process")
    func exporterInRunner() async throws {
        let records = [
            PluginLogRecord(
                id: "r1", level: .error, message: "disk \"full\"\nretrying", timestamp: Date(timeIntervalSince1970: 1_700_000_000.5),
                source: "api", component: "storage", module: "Writer", function: "flush()", line: 7, traceID: "t1",
                requestID: "q1", fields: [(name: "disk", value: "/dev/sda1")]),
            PluginLogRecord(level: .info, message: "ok", timestamp: Date(timeIntervalSince1970: 1_700_000_001)),
        ]
        var outputs: [String] = []
        for isolated in [false, true] {
            let path = PluginFixtures.freshPath("isolated-filelog") + ".ndjson"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let library = try PluginFixtures.fileLogExporter()
            if isolated {
                let instance = try await RunnerFixtures.isolated(library, settings: ["path": .string(path)])
                try await instance.exportLogs(records)
                await #expect(throws: PluginError.self) { try await instance.collectMetrics() }
                await instance.shutdown()
            } else {
                let instance = try await PluginInstance(
                    library: PluginLibrary.load(path: library), settings: ["path": .string(path)])
                try await instance.exportLogs(records)
                await instance.shutdown()
            }
            outputs.append(try String(contentsOfFile: path, encoding: .utf8))
        }
        #expect(outputs[0].split(separator: "\n").count == 2)
        #expect(outputs[0] == outputs[1])
    }

    @Test("the file notifier receives notifications and acknowledgments through a runner")
    func notifierInRunner() async throws {
        let path = PluginFixtures.freshPath("isolated-notifier") + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let instance = try await RunnerFixtures.isolated(PluginFixtures.fileNotifier(), settings: ["path": .string(path)])
        let alert = PluginAlert(
            alertID: "a1", ruleID: "r1", name: "DiskFull", description: "disk is full", severity: "critical",
            status: "firing", labels: [(name: "mount", value: "/")], annotations: [(name: "runbook", value: "x")],
            value: 99.5, firedAt: Date(timeIntervalSince1970: 1_700_000_000), resolvedAt: nil)
        try await instance.sendNotification(alert)
        try await instance.sendAcknowledgment(alertID: "a1", user: "ops", message: "on it")
        await #expect(throws: PluginError.self) { try await instance.exportLogs([]) }
        await instance.shutdown()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains("DiskFull"))
        #expect(lines[1].contains("on it"))
    }
}
