import Foundation
import StepflowCore
import StepflowMetrics
import StepflowStorage
import StepflowTestSupport
import Logging
import ServiceLifecycle
import Testing

@Suite("The metrics writer")
struct MetricsWriterTests {
    func temporaryDatabase() throws -> (MonitoringDatabase, String) {
        let directory = Scratch.root + "stepflow-writer-" + UUID().uuidString
        return (try MonitoringDatabase(path: directory + "/m.sqlite"), directory)
    }

    @Test("queued samples reach SQLite in batches while it runs")
    func writesInBatches() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = MetricsWriteQueue(capacity: 10_000, batchSize: 250)
        let writer = MetricsWriter(queue: queue, store: MetricStore(database: database), flushInterval: .milliseconds(50),
                                   logger: Logger(label: "test"))
        let engine = MetricsEngine(queue: queue, logger: Logger(label: "test"))
        let task = Task { try await writer.run() }
        defer { task.cancel() }
        engine.record((0..<1000).map { Metric(name: "w", value: .gauge(Double($0)), labels: [Label("i", "\($0)")]) })
        let store = MetricStore(database: database)
        // A deadline, not a timing: generous, since the suites beside this one load the machine.
        let deadline = Date().addingTimeInterval(60)
        // The writer counts a batch just after its transaction commits: wait for both.
        while await (try store.count(name: "w") < 1000 || writer.written < 1000) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        await #expect(try store.count(name: "w") == 1000)
        #expect(writer.written == 1000)
        #expect(queue.depth == 0)
    }

    @Test("graceful shutdown writes every accepted sample before the writer returns")
    func flushesOnShutdown() async throws {
        let (database, directory) = try temporaryDatabase()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = MetricsWriteQueue(capacity: 100_000, batchSize: 1000)
        // A flush interval far longer than the test: only shutdown can write the tail.
        let writer = MetricsWriter(queue: queue, store: MetricStore(database: database), flushInterval: .seconds(3600),
                                   logger: Logger(label: "test"))
        let group = ServiceGroup(services: [writer], logger: Logger(label: "test"))
        let engine = MetricsEngine(queue: queue, logger: Logger(label: "test"))
        async let running: Void = group.run()
        for round in 0..<5 {
            engine.record((0..<999).map { Metric(name: "tail", value: .counter(Double($0)), labels: [Label("r", "\(round)"), Label("i", "\($0)")]) })
        }
        await group.triggerGracefulShutdown()
        try await running
        await #expect(try MetricStore(database: database).count(name: "tail") == 4995)
        #expect(queue.depth == 0)
    }
}
