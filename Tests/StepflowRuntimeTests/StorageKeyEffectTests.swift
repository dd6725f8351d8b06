import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB
import Logging
import StepflowCore
import StepflowRuntime
import StepflowStorage
import StepflowTestSupport
import Testing

/// Issue 17, point 4, continued: retention, write acknowledgement, queues and limits, each set in YAML for a running
/// host. The table of every key and its test is `Tests/StepflowConfigTests/KeyEffectTableTests.swift`.
@Suite("Storage, ingest and HTTP keys change what the host does")
struct StorageKeyEffectTests {
    let logger = Logger(label: "storage-key-tests")

    @Test("retention_days of metrics, logs, tracing and alerts each delete their own rows past it, and only those")
    func retentionKeys() async throws {
        try await withHost("""
            http:
              port: 0
            plugins: []
            metrics:
              retention_days: 5
              enable_aggregation: false  # the roll-up would otherwise move old raw samples into aggregates
            logs:
              retention_days: 6
            tracing:
              retention_days: 7
            alerts:
              retention_days: 8
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let database = runtime.storage.database
            let now = Date()
            func daysAgo(_ days: Double) -> Date { now.addingTimeInterval(-days * 86_400) }
            // One row just past each retention and one just within it (the defaults, 30 days, would keep all).
            try await MetricStore(database: database).insert([
                Metric(name: "aged_metric", value: .gauge(1), timestamp: daysAgo(5.5)),
                Metric(name: "aged_metric", value: .gauge(2), timestamp: daysAgo(4.5)),
            ])
            let logs = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "info", "message": "aged-old", "timestamp": "\(daysAgo(6.5).rfc3339)"},
                          {"level": "info", "message": "aged-new", "timestamp": "\(daysAgo(5.5).rfc3339)"}]}
                """)
            #expect(logs.status == 200, "\(logs.body)")
            let old = daysAgo(7.5).unixMilliseconds
            let recent = daysAgo(6.5).unixMilliseconds
            let spans = try await httpSend(port, "POST", "/api/v1/spans", body: """
                {"spans": [{"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331", "name": "aged-old",
                            "start_time": \(old), "end_time": \(old + 10)},
                           {"trace_id": "0af7651916cd43dd8448eb211c80319d", "span_id": "b7ad6b7169203332", "name": "aged-new",
                            "start_time": \(recent), "end_time": \(recent + 10)}]}
                """)
            #expect(spans.status == 200, "\(spans.body)")
            let matcher = try LabelMatcher("alertname", .equal, "Aged")
            let alerts = AlertStore(database: database)
            try await alerts.save(Silence(
                id: "aged-old", matchers: [matcher], startsAt: daysAgo(9), endsAt: daysAgo(8.5), createdBy: "ana", comment: ""))
            try await alerts.save(Silence(
                id: "aged-new", matchers: [matcher], startsAt: daysAgo(8), endsAt: daysAgo(7.5), createdBy: "ana", comment: ""))

            try await runtime.storage.retention.run()

            let samples = try await MetricStore(database: database).samples(name: "aged_metric")
            #expect(samples.map(\.value) == [.gauge(2)], "\(samples)")
            let messages = try await database.pool.read { db in
                try String.fetchAll(db, sql: "SELECT message FROM monitoring_logs WHERE message LIKE 'aged-%'")
            }
            #expect(messages == ["aged-new"], "\(messages)")
            let spanNames = try await database.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM monitoring_traces WHERE name LIKE 'aged-%'")
            }
            #expect(spanNames == ["aged-new"], "\(spanNames)")
            let silences = try await alerts.silences().map(\.id)
            #expect(silences == ["aged-new"], "\(silences)")
        }
    }

    /// Holds SQLite's write lock on `path` from a thread of its own until ``release()``.
    final class WriteLockHolder: @unchecked Sendable {
        private let taken = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)
        private let thread: Thread

        init(path: String) {
            let (taken, done) = (taken, done)
            thread = Thread {
                let queue = try? DatabaseQueue(path: path)
                try? queue?.inDatabase { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    taken.signal()
                    done.wait()
                    try db.execute(sql: "ROLLBACK")
                }
            }
            thread.start()
            taken.wait()
        }

        func release() { done.signal() }
    }

    /// A host on `yaml` (its first lines continue the `storage:` section `withHost` writes), with SQLite's write
    /// lock on its database held by another connection from the start of `body` until `release()` or the end.
    func withWriteLockedHost(
        _ yaml: String, _ body: (_ runtime: MonitoringRuntime, _ port: Int, _ lock: WriteLockHolder) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, yaml, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let lock = try await offPool { WriteLockHolder(path: directory.file("monitoring.sqlite")) }
            defer { lock.release() }
            try await body(runtime, port, lock)
        }
    }

    /// Posts 20 log entries `locked-<batch>-<n>`.
    static func postTwenty(_ port: Int, _ batch: Int) async throws -> (status: Int, body: String) {
        let entries = (0..<20).map { #"{"level": "info", "message": "locked-\#(batch)-\#($0)"}"# }
        return try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": ["# + entries.joined(separator: ",") + "]}")
    }

    /// Waits until the rows `locked-…` stored number `count`.
    static func lockedRowsStored(_ runtime: MonitoringRuntime, _ count: Int) async -> Bool {
        await eventually(20) {
            let stored = try? await runtime.storage.database.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_logs WHERE message LIKE 'locked-%'")
            }
            return stored == count
        }
    }

    @Test("commit_timeout answers 202 while storage is locked; busy_timeout decides how soon a write fails")
    func lockedStorageKeys() async throws {
        try await withWriteLockedHost("""
              busy_timeout: 100ms
            http:
              port: 0
              commit_timeout: 300ms
            plugins: []
            logs:
              flush_interval: 50ms
            """) { runtime, port, lock in
            // commit_timeout: the rows are queued, and the answer says they are not stored yet.
            let late = try await Self.postTwenty(port, 0)
            #expect(late.status == 202, "\(late.body)")
            #expect(late.body.contains("http.commit_timeout"), "\(late.body)")
            // busy_timeout 100ms: the writer gives up on the lock at once (the default waits 5 s per try), and
            // ingest answers 503 while writes fail.
            #expect(await eventually(2.5) { runtime.logs.writer.lastError?.contains("locked") == true })
            #expect(try await Self.postTwenty(port, 1).status == 503)
            lock.release()
            // What was answered 202 is written once the lock is gone.
            #expect(await Self.lockedRowsStored(runtime, 20))
        }
    }

    @Test("a queue full past backpressure_timeout refuses with 503; a batch over max_queue_size is a 413")
    func queueKeys() async throws {
        // A long busy_timeout: the writer waits on the lock without failing, so the queue fills.
        try await withWriteLockedHost("""
              busy_timeout: 20s
            http:
              port: 0
              commit_timeout: 100ms
            plugins: []
            metrics:
              backpressure_timeout: 400ms
            logs:
              max_queue_size: 50
              flush_interval: 50ms
            """) { runtime, port, lock in
            // A batch the queue can never hold is refused at once, before anything waits.
            let tooMany = (0..<51).map { #"{"level": "info", "message": "over-\#($0)"}"# }
            let over = try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": ["# + tooMany.joined(separator: ",") + "]}")
            #expect(over.status == 413, "\(over.body)")
            #expect(over.body.contains("(logs.max_queue_size, 50 rows)"), "\(over.body)")

            var answers: [Int] = []
            var waited: Duration = .zero
            var body = ""
            for batch in 0..<6 where !answers.contains(503) {
                let started = ContinuousClock.now
                let answer = try await Self.postTwenty(port, batch)
                waited = ContinuousClock.now - started
                answers.append(answer.status)
                body = answer.body
            }
            #expect(answers.last == 503, "\(answers)")
            #expect(body.contains("stayed full for 0.4 seconds") || body.contains("stayed full for 400"), "\(body)")
            #expect(waited >= .milliseconds(400), "refused after \(waited), before backpressure_timeout")
            lock.release()
            #expect(await Self.lockedRowsStored(runtime, 20 * answers.filter { $0 == 202 }.count))
        }
    }

    @Test("past max_concurrent_requests a request is answered 503 while another waits for its commit; /metrics is not counted")
    func concurrencyKey() async throws {
        try await withWriteLockedHost("""
              busy_timeout: 20s
            http:
              port: 0
              commit_timeout: 10s
              max_concurrent_requests: 1
            plugins: []
            """) { runtime, port, lock in
            // This request holds the only slot while it waits for a commit the lock delays.
            async let waiting = Self.postTwenty(port, 0)
            // Once it is in flight (/metrics, not counted, says so), the next request is refused.
            #expect(try await eventually(10) {
                try await httpGet(port, "/metrics").body.contains("stepflow_http_requests_in_flight 1")
            })
            let refused = try await httpGet(port, "/api/v1/logs?limit=1")
            let refusal = refused.body
            #expect(refused.status == 503)
            #expect(refusal.contains("http.max_concurrent_requests (1)"), "\(refusal)")
            #expect(try await httpGet(port, "/metrics").status == 200)
            lock.release()
            let answer = try await waiting
            #expect(answer.status == 200, "\(answer.body)")
        }
    }

    @Test("flush_interval of metrics, logs and tracing: how long queued rows wait before the writer takes them")
    func flushIntervalKeys() async throws {
        for interval in ["1h", "100ms"] {
            try await withHost("""
                http:
                  port: 0
                  acknowledge: queued
                health:
                  check_interval: 300ms
                plugins: []
                metrics:
                  flush_interval: \(interval)
                logs:
                  flush_interval: \(interval)
                tracing:
                  flush_interval: \(interval)
                """, logger: logger) { runtime in
                let port = await runtime.boundAddress.waitForPort()
                let now = Date().unixMilliseconds
                for (path, body) in [
                    ("metrics", #"{"metrics": [{"name": "gathered", "type": "gauge", "value": 1}]}"#),
                    ("logs", #"{"logs": [{"level": "info", "message": "gathered"}]}"#),
                    ("spans", #"{"spans": [{"trace_id": "0af7651916cd43dd8448eb211c80319e", "span_id": "b7ad6b7169203333", "name": "gathered", "start_time": \#(now - 5), "end_time": \#(now)}]}"#),
                ] {
                    let answer = try await httpSend(port, "POST", "/api/v1/\(path)", body: body)
                    #expect(answer.status == 200 && answer.body.contains(#""stored":false"#), "\(answer.body)")
                }
                let depths = { [runtime.metrics.queue.depth, runtime.logs.queue.depth, runtime.tracing.queue.depth] }
                if interval == "1h" {
                    // Three health runs later (about a second), all three rows still wait in their queues.
                    let runs = runtime.scheduler.status(of: "health")?.runs ?? 0
                    #expect(await eventually { (runtime.scheduler.status(of: "health")?.runs ?? 0) >= runs + 3 })
                    #expect(depths().allSatisfy { $0 >= 1 }, "\(depths())")
                } else {
                    #expect(await eventually { depths() == [0, 0, 0] }, "\(depths())")
                }
            }
        }
    }

    @Test("acknowledge: queued answers before the commit; http.enabled false serves nothing; http.address picks the interface")
    func httpServingKeys() async throws {
        try await withHost("""
            http:
              port: 0
              address: 127.0.0.2
              acknowledge: queued
            plugins: []
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let url = URL(string: "http://127.0.0.2:\(port)/api/v1/logs")!
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.httpBody = Data(#"{"logs": [{"level": "info", "message": "queued"}]}"#.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            let (data, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: data, as: UTF8.self).contains(#""stored":false"#))
            // Bound to 127.0.0.2 only: nothing answers on 127.0.0.1.
            await #expect(throws: (any Error).self) { _ = try await httpGet(port, "/health/live") }
        }

        let port = try freeTCPPort()
        try await withHost("""
            http:
              enabled: false
              port: \(port)
            health:
              check_interval: 100ms
            plugins: []
            """, logger: logger) { runtime in
            // The host runs (its health job has run twice) and serves nothing.
            #expect(await eventually { (runtime.scheduler.status(of: "health")?.runs ?? 0) >= 2 })
            await #expect(throws: (any Error).self) { _ = try await httpGet(port, "/health/live") }
        }
    }

    @Test("limits and max_label_value_length from the YAML refuse what is past them, naming the key")
    func limitKeys() async throws {
        try await withHost("""
            http:
              port: 0
            plugins: []
            metrics:
              max_label_value_length: 16
            limits:
              max_name_length: 32
              max_text_length: 64
              max_fields_size: 100
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let longName = String(repeating: "n", count: 40)
            let name = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "\#(longName)", "type": "gauge", "value": 1}]}"#)
            #expect(name.body.contains("limits.max_name_length"), "\(name.status) \(name.body)")
            let shortName = String(repeating: "n", count: 30)
            let fits = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "\#(shortName)", "type": "gauge", "value": 1}]}"#)
            #expect(fits.status == 200, "\(fits.body)")
            let label = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "labelled", "type": "gauge", "value": 1, "labels": {"path": "\(String(repeating: "p", count: 20))"}}]}
                """)
            #expect(label.body.contains("metrics.max_label_value_length"), "\(label.status) \(label.body)")
            let fields = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "info", "message": "wide", "fields": {"blob": "\(String(repeating: "f", count: 120))"}}]}
                """)
            #expect(fields.body.contains("limits.max_fields_size"), "\(fields.status) \(fields.body)")
            let rule = try await httpSend(port, "POST", "/api/v1/rules", body: """
                {"name": "Wordy", "query": "queue_depth", "condition": {"greater_than": 1}, "description": "\(String(repeating: "d", count: 80))"}
                """)
            #expect(rule.status == 400, "\(rule.body)")
            #expect(rule.body.contains("limits.max_text_length"), "\(rule.body)")
        }
    }
}
