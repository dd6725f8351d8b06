import Foundation
import GRDB
import StepflowStorage
import Synchronization
import StepflowTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11: an acknowledged row is a stored row. Real host processes, killed, starved of disk, robbed of their
/// database file; the rows answered 200 are then looked up in the SQLite file.
@Suite("Acknowledged means stored", .serialized)
struct DurabilityTests {
    /// Sends batches of logs and metrics from `clients` concurrent loops until `stop` says so; returns the ids of
    /// the rows whose request was answered 200 with `"stored": true`, and every status seen.
    static func load(
        port: Int, clients: Int, payload: Int = 64, progress: Progress? = nil, until stop: @escaping @Sendable () -> Bool
    ) async -> (logs: Set<String>, metrics: Set<String>, statuses: [Int: Int]) {
        await withTaskGroup(of: (Set<String>, Set<String>, [Int: Int]).self) { group in
            for client in 0..<clients {
                group.addTask {
                    var logs = Set<String>()
                    var metrics = Set<String>()
                    var statuses: [Int: Int] = [:]
                    var batch = 0
                    let filler = String(repeating: "x", count: payload)
                    while !stop() {
                        batch += 1
                        let ids = (0..<20).map { "c\(client)-b\(batch)-\($0)" }
                        let logBody = #"{"logs": ["# + ids.map { #"{"level": "info", "message": "\#($0) \#(filler)"}"# }
                            .joined(separator: ",") + "]}"
                        let metricBody = #"{"metrics": ["# + ids.map {
                            #"{"name": "durable", "type": "gauge", "value": 1, "labels": {"id": "\#($0)"}}"#
                        }.joined(separator: ",") + "]}"
                        for (kind, body) in [("logs", logBody), ("metrics", metricBody)] {
                            guard let answer = try? await httpSend(port, "POST", "/api/v1/\(kind)", body: body) else {
                                continue
                            }
                            statuses[answer.status, default: 0] += 1
                            if answer.status == 200 && answer.body.contains("\"stored\":true") {
                                if kind == "logs" { logs.formUnion(ids) } else { metrics.formUnion(ids) }
                                progress?.add(kind: kind, ids.count)
                            }
                        }
                    }
                    return (logs, metrics, statuses)
                }
            }
            var all: (logs: Set<String>, metrics: Set<String>, statuses: [Int: Int]) = ([], [], [:])
            for await (logs, metrics, statuses) in group {
                all.logs.formUnion(logs)
                all.metrics.formUnion(metrics)
                all.statuses.merge(statuses, uniquingKeysWith: +)
            }
            return all
        }
    }

    /// Rows acknowledged so far, per kind, shared between the load and whoever waits for it.
    final class Progress: Sendable {
        private let counts = Mutex<(logs: Int, metrics: Int)>((0, 0))

        func add(kind: String, _ count: Int) {
            counts.withLock { if kind == "logs" { $0.logs += count } else { $0.metrics += count } }
        }

        var logs: Int { counts.withLock { $0.logs } }
        var metrics: Int { counts.withLock { $0.metrics } }
    }

    /// The log ids and metric ids stored in the database at `path`.
    static func stored(in path: String) throws -> (logs: Set<String>, metrics: Set<String>) {
        let database = try MonitoringDatabase(readOnlyPath: path)
        return try database.pool.read { db in
            let logs = try String.fetchAll(db, sql: "SELECT message FROM monitoring_logs").map {
                String($0.prefix { $0 != " " })
            }
            let labels = try String.fetchAll(db, sql: "SELECT labels FROM monitoring_metrics WHERE name = 'durable'")
            let metrics = labels.compactMap { text -> String? in
                guard let range = text.range(of: #""id":""#) else { return nil }
                return String(text[range.upperBound...].prefix { $0 != "\"" })
            }
            return (Set(logs), Set(metrics))
        }
    }

    static func config(_ directory: TemporaryDirectory, extra: String = "") throws -> String {
        try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
              commit_timeout: 2s
            metrics:
              backpressure_timeout: 500ms
            plugins: []
            \(extra)
            """)
    }

    @Test("kill -9 under load: every row answered 200 \"stored\" is in the database")
    func killNineLosesNothingAcknowledged() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let host = try HostProcess(configPath: try Self.config(directory))
        defer { withExtendedLifetime(host) {} }
        let port = try await host.waitForPort()
        // Killed in the middle of the load, once a few hundred rows of each kind were acknowledged.
        let progress = Progress()
        let process = host.process
        let killer = Task {
            _ = await eventually(60) { progress.logs >= 400 && progress.metrics >= 400 }
            kill(process.processIdentifier, SIGKILL)
        }
        let acknowledged = await Self.load(port: port, clients: 4, progress: progress) { !process.isRunning }
        await killer.value
        host.process.waitUntilExit()
        #expect(acknowledged.logs.count >= 400 && acknowledged.metrics.count >= 400, "\(acknowledged.statuses)")
        let stored = try Self.stored(in: directory.file("monitoring.sqlite"))
        let lostLogs = acknowledged.logs.subtracting(stored.logs)
        let lostMetrics = acknowledged.metrics.subtracting(stored.metrics)
        #expect(lostLogs.isEmpty, "\(lostLogs.count) acknowledged log entries lost, e.g. \(lostLogs.prefix(3))")
        #expect(lostMetrics.isEmpty, "\(lostMetrics.count) acknowledged samples lost, e.g. \(lostMetrics.prefix(3))")
    }

    @Test("disk full (a file-size limit): ingest answers 503, nothing acknowledged is lost, the loss at shutdown is reported")
    func diskFull() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try Self.config(directory)
        let host = try HostProcess(configPath: config, launcher: ["/usr/bin/prlimit", "--fsize=3000000"])
        defer { withExtendedLifetime(host) {} }
        let port = try await host.waitForPort()
        let start = ContinuousClock.now
        let acknowledged = await Self.load(port: port, clients: 2, payload: 2000) {
            host.log.text.contains("cannot write") || ContinuousClock.now - start > .seconds(60)
        }
        // Once storage refuses writes, requests are refused with 503 and nothing is queued. The limit can be hit
        // first by one writer while another still fits a batch (a WAL that was just reset), so a late request
        // may still be stored: then it is acknowledged, and must be found in the file like every other one.
        var late = Set<String>()
        var lastAnswer = ""
        let refusedLate = try await eventually(20) {
            let id = "late\(late.count)"
            let answer = try await httpSend(
                port, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "\#(id) x"}]}"#)
            lastAnswer = "\(answer.status) \(answer.body)"
            if answer.status == 200 && answer.body.contains("\"stored\":true") { late.insert(id) }
            return answer.status == 503 || answer.status == 202
        }
        #expect(refusedLate, "late requests were still answered \(lastAnswer) after \(late.count) of them were stored")
        #expect(try await eventually(10) { try await httpGet(port, "/health").status == 503 })
        host.process.terminate()
        host.process.waitUntilExit()
        #expect(host.log.text.contains("cannot write"), "\(host.log.text.suffix(2000))")
        #expect(acknowledged.statuses[503, default: 0] + acknowledged.statuses[202, default: 0] > 0, "\(acknowledged.statuses)")
        let stored = try Self.stored(in: directory.file("monitoring.sqlite"))
        #expect(acknowledged.logs.union(late).subtracting(stored.logs).isEmpty)
        #expect(acknowledged.metrics.subtracting(stored.metrics).isEmpty)
    }

    @Test("a database file deleted under the host is reported unhealthy, and ingest answers 503 instead of writing into it")
    func deletedDatabaseFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let host = try HostProcess(configPath: try Self.config(directory))
        defer { withExtendedLifetime(host) {} }
        let port = try await host.waitForPort()
        let body = #"{"logs": [{"level": "info", "message": "before"}]}"#
        #expect(try await httpSend(port, "POST", "/api/v1/logs", body: body).status == 200)
        try FileManager.default.removeItem(atPath: directory.file("monitoring.sqlite"))
        var statuses: [Int] = []
        for _ in 0..<3 {
            statuses.append(try await httpSend(port, "POST", "/api/v1/logs", body: body).status)
        }
        #expect(!statuses.contains(200), "\(statuses)")
        #expect(statuses.last == 503, "\(statuses)")
        let health = try await httpGet(port, "/health")
        #expect(health.status == 503)
        #expect(health.body.contains("was deleted"), "\(health.body)")
        #expect(try await rawRequest(port, "GET", "/health/ready").status == 503)
    }

    @Test("a database corrupted in the middle is reported unhealthy at start, and not written")
    func corruptedDatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("monitoring.sqlite")
        do {
            let database = try MonitoringDatabase(path: path)
            try await database.pool.write { db in
                for index in 0..<2000 {
                    try db.execute(
                        sql: "INSERT INTO monitoring_logs (log_id, level, message, component, module, function, timestamp) VALUES (?, 'info', ?, 'c', 'm', 'f', 1000)",
                        arguments: ["id-\(index)", String(repeating: "m", count: 200)])
                }
            }
            _ = try await database.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        }
        // Overwrite pages in the middle of the file (not the header): an index and table pages.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 8192))
        try handle.close()
        let host = try HostProcess(configPath: try Self.config(directory))
        defer { withExtendedLifetime(host) {} }
        let port = try await host.waitForPort()
        let health = try await httpGet(port, "/health")
        #expect(health.status == 503, "\(health.body)")
        #expect(health.body.contains("integrity check failed"), "\(health.body)")
        #expect(host.log.text.contains("failed its integrity check"))
    }

    @Test("stored rows with times no check would accept are skipped, counted on /health, and crash nothing at start")
    func poisonRowsAreCounted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            // What an older version stored from "timestamp": ±9223372036854775807.
            let database = try MonitoringDatabase(path: directory.file("monitoring.sqlite"))
            try await database.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO monitoring_metrics (name, value_type, value_data, labels, timestamp)
                    VALUES ('p', 'gauge', '1', NULL, ?), ('p', 'gauge', '1', NULL, ?)
                    """, arguments: [Int64.min, Int64.max])
            }
        }
        let host = try HostProcess(configPath: try Self.config(directory))
        defer { withExtendedLifetime(host) {} }
        let port = try await host.waitForPort()
        let health = try await httpGet(port, "/health")
        #expect(health.status == 200, "\(health.body)")
        #expect(health.body.contains(#""rows_outside_valid_time":{"monitoring_metrics":2}"#), "\(health.body)")
        #expect(!(try await httpGet(port, "/api/v1/metrics").body.contains(#""name":"p""#)))
    }
}
