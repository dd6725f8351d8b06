import CompressNIO
import Foundation
import Logging
import NIOCore
import StepflowCore
import StepflowLogs
import StepflowStorage
import Testing

@Suite("Log export")
struct LogExportTests {
    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    func messages(_ path: String) throws -> [String] {
        try lines(path).map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return object["message"] as? String ?? ""
        }
    }

    @Test("an exporter gets the entries written after it started, in order, once each, across runs")
    func inOrderOnce() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        try await fixture.engine.logBatch([LogEntry(level: .info, message: "before the exporter")])
        await fixture.writer.flush()
        let path = fixture.directory + "/export/out.ndjson"
        let job = LogExportJob(
            name: "export:file", kind: "builtin",
            exporter: FileLogExporter(path: path, rotationSize: nil, compress: false, keep: 3, logger: Logger(label: "t")),
            store: fixture.store, positions: ExportPositionStore(database: fixture.database), batchSize: 10,
            logger: Logger(label: "t"))
        try await job.run()  // starts at the end: what came before is not sent
        #expect(!FileManager.default.fileExists(atPath: path))
        try await fixture.engine.logBatch((0..<25).map { LogEntry(level: .info, message: "m\($0)") })
        await fixture.writer.flush()
        try await job.run()
        try await job.run()
        #expect(try messages(path) == (0..<25).map { "m\($0)" })
        #expect(job.counts.exported == 25)
        #expect(job.counts.batches == 3)
    }

    @Test("an exporter that fails gets the same entries again later, none lost; other exporters are not held up")
    func failureLosesNothing() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let positions = ExportPositionStore(database: fixture.database)
        // A directory where the file should be: every write fails until it is removed.
        let blocked = fixture.directory + "/blocked.ndjson"
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: true)
        let failing = LogExportJob(
            name: "export:failing", kind: "builtin",
            exporter: FileLogExporter(path: blocked, rotationSize: nil, compress: false, keep: 1, logger: Logger(label: "t")),
            store: fixture.store, positions: positions, logger: Logger(label: "t"))
        let healthyPath = fixture.directory + "/healthy.ndjson"
        let healthy = LogExportJob(
            name: "export:healthy", kind: "builtin",
            exporter: FileLogExporter(path: healthyPath, rotationSize: nil, compress: false, keep: 1, logger: Logger(label: "t")),
            store: fixture.store, positions: positions, logger: Logger(label: "t"))
        try await failing.run()
        try await healthy.run()
        try await fixture.engine.logBatch((0..<5).map { LogEntry(level: .warn, message: "w\($0)") })
        await fixture.writer.flush()
        let error = await #expect(throws: MonitoringError.self) { try await failing.run() }
        #expect(error?.code == .exportFailed)
        #expect(error?.message.contains(blocked) == true)
        try await healthy.run()
        #expect(try messages(healthyPath) == (0..<5).map { "w\($0)" })
        try FileManager.default.removeItem(atPath: blocked)
        try await failing.run()
        #expect(try messages(blocked) == (0..<5).map { "w\($0)" })
    }

    @Test("the position survives a restart: a new job for the same exporter resumes where the last stopped")
    func resumesAfterRestart() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let path = fixture.directory + "/out.ndjson"
        func job() -> LogExportJob {
            LogExportJob(
                name: "export:file", kind: "builtin",
                exporter: FileLogExporter(path: path, rotationSize: nil, compress: false, keep: 1, logger: Logger(label: "t")),
                store: fixture.store, positions: ExportPositionStore(database: fixture.database), logger: Logger(label: "t"))
        }
        try await job().run()
        try await fixture.engine.logBatch([LogEntry(level: .info, message: "one")])
        await fixture.writer.flush()
        try await job().run()
        try await fixture.engine.logBatch([LogEntry(level: .info, message: "two")])
        await fixture.writer.flush()
        try await job().run()
        #expect(try messages(path) == ["one", "two"])
    }

    @Test("the file exporter rotates at rotation_size, gzips what it rotated and keeps max_rotated_files")
    func rotation() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let path = fixture.directory + "/rot/app.ndjson"
        let exporter = FileLogExporter(path: path, rotationSize: 2_000, compress: true, keep: 2, logger: Logger(label: "t"))
        for batch in 0..<10 {
            let entries = (0..<10).map { LogEntry(level: .info, message: "batch \(batch) entry \($0) " + String(repeating: "x", count: 40)) }
            try await exporter.exportLogsBatch(entries)
        }
        let current = try lines(path)
        #expect(!current.isEmpty)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0) <= 2_000)
        let newest = exporter.rotatedPath(1, compressed: true)
        let older = exporter.rotatedPath(2, compressed: true)
        #expect(FileManager.default.fileExists(atPath: newest))
        #expect(FileManager.default.fileExists(atPath: older))
        #expect(!FileManager.default.fileExists(atPath: exporter.rotatedPath(3, compressed: true)))
        #expect(!FileManager.default.fileExists(atPath: exporter.rotatedPath(1, compressed: false)))
        // Each rotated file is a gzip of whole NDJSON lines, and the newest one ends where the current file begins.
        var compressed = ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: newest)))
        let text = String(buffer: try compressed.decompress(with: .gzip()))
        let rotatedLines = text.split(separator: "\n")
        #expect(!rotatedLines.isEmpty)
        for line in rotatedLines { #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any]) }
        let lastRotated = try #require(try JSONSerialization.jsonObject(with: Data(rotatedLines.last!.utf8)) as? [String: Any])
        let firstCurrent = try #require(try JSONSerialization.jsonObject(with: Data(current[0].utf8)) as? [String: Any])
        let order = (0..<10).flatMap { batch in (0..<10).map { "batch \(batch) entry \($0) " + String(repeating: "x", count: 40) } }
        let lastIndex = try #require(order.firstIndex(of: lastRotated["message"] as! String))
        #expect(order[lastIndex + 1] == firstCurrent["message"] as! String)
    }

    @Test("a byte budget cuts a batch and sends the rest in the next call; nothing is dropped")
    func byteBudget() async throws {
        let fixture = try LogFixture()
        defer { fixture.remove() }
        let path = fixture.directory + "/budget.ndjson"
        let job = LogExportJob(
            name: "export:budget", kind: "plugin",
            exporter: FileLogExporter(path: path, rotationSize: nil, compress: false, keep: 1, logger: Logger(label: "t")),
            store: fixture.store, positions: ExportPositionStore(database: fixture.database), byteBudget: 1_000,
            logger: Logger(label: "t"))
        try await job.run()
        try await fixture.engine.logBatch((0..<20).map { LogEntry(level: .info, message: "\($0) " + String(repeating: "y", count: 200)) })
        await fixture.writer.flush()
        try await job.run()
        #expect(try messages(path).count == 20)
        #expect(job.counts.batches >= 5)
        #expect(job.counts.deferred > 0)
    }
}
