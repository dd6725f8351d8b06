import Foundation
import GRDB
import Logging
import ServiceLifecycle
import StepflowCore
import StepflowRuntime
import StepflowScheduling
import StepflowTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 17, point 4: no key without an effect. Each test here sets keys that no other test sets in YAML, for a
/// running host, and shows what they change. The table of every documented key and the test that proves it is
/// `Tests/StepflowConfigTests/KeyEffectTableTests.swift`.
@Suite("Each configuration key changes what the host does")
struct ConfigurationKeyEffectTests {
    let logger = Logger(label: "key-effect-tests")

    @Test("metrics: max_metrics_per_batch, aggregation_interval, histogram_buckets, histograms and the summary window")
    func metricsKeys() async throws {
        try await withHost("""
            http:
              port: 0
            plugins: []
            metrics:
              max_metrics_per_batch: 10
              aggregation_interval: 7m
              histogram_buckets: [0.25, 2.5]
              histograms: {special_seconds: [1, 10]}
              summary_quantiles: [0.5]
              summary_max_samples: 5
              summary_max_age: 1s
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            // max_metrics_per_batch: a request of 100 samples is committed in transactions of at most 10 rows.
            let samples = (0..<100).map { #"{"name": "batched", "type": "gauge", "value": 1, "labels": {"i": "\#($0)"}}"# }
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": ["# + samples.joined(separator: ",") + "]}")
            #expect(posted.status == 200, "\(posted.body)")
            #expect(runtime.metrics.writer.largestBatch == 10, "largest transaction: \(runtime.metrics.writer.largestBatch) rows")

            // aggregation_interval: the roll-up job's period.
            #expect(runtime.scheduler.status(of: "aggregation")?.schedule.interval == .seconds(420))

            // histogram_buckets for every histogram; histograms for one by name.
            let engine = runtime.metrics.engine
            try await engine.recordHistogram("plain_seconds", value: 1, labels: [])
            try await engine.recordHistogram("special_seconds", value: 5, labels: [])
            guard case .histogram(let plain)? = engine.value(of: "plain_seconds", labels: []),
                case .histogram(let special)? = engine.value(of: "special_seconds", labels: [])
            else {
                Issue.record("no histograms")
                return
            }
            #expect(plain.buckets.map(\.upperBound) == [0.25, 2.5])
            #expect(plain.buckets.map(\.count) == [0, 1])
            #expect(special.buckets.map(\.upperBound) == [1, 10])
            #expect(special.buckets.map(\.count) == [0, 1])

            // summary_quantiles and summary_max_samples: the median of the last 5 observations only (with the
            // default window of 500, the five 100s would keep it at 100).
            for value in [100.0, 100, 100, 100, 100, 1, 2, 3] { try await engine.recordSummary("window", value: value, labels: []) }
            guard case .summary(let window)? = engine.value(of: "window", labels: []) else {
                Issue.record("no summary")
                return
            }
            #expect(window.quantiles.map(\.quantile) == [0.5])
            #expect(window.quantiles.first?.value == 3, "\(window.quantiles)")
            #expect(window.count == 8, "count and sum keep every observation")

            // summary_max_age: once a second has passed, the old observations leave the window.
            for _ in 0..<4 { try await engine.recordSummary("aged", value: 100, labels: []) }
            let recorded = ContinuousClock.now
            #expect(await eventually { ContinuousClock.now - recorded > .milliseconds(1_100) })
            try await engine.recordSummary("aged", value: 1, labels: [])
            guard case .summary(let aged)? = engine.value(of: "aged", labels: []) else {
                Issue.record("no summary")
                return
            }
            #expect(aged.quantiles.first?.value == 1, "\(aged.quantiles)")
        }
    }

    /// The three ways the file exporter can keep its file: rotated and compressed, rotated plain, never rotated.
    struct FileLayout: Sendable, CustomTestStringConvertible {
        var rotation: Bool
        var compression: Bool
        var keep: Int
        var testDescription: String { "enable_rotation \(rotation), enable_compression \(compression), max_rotated_files \(keep)" }
    }

    @Test(
        "logs: max_log_size cuts messages; the export file rotates at rotation_size, compressed or not, keeping max_rotated_files",
        arguments: [
            FileLayout(rotation: true, compression: true, keep: 2), FileLayout(rotation: true, compression: false, keep: 1),
            FileLayout(rotation: false, compression: true, keep: 2),
        ])
    func logFileKeys(_ layout: FileLayout) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.file("app.ndjson")
        try await withHost(directory, """
            http:
              port: 0
            plugins: []
            logs:
              max_log_size: 100
              enable_export: true
              export_interval: 200ms
              export_file: \(file)
              enable_rotation: \(layout.rotation)
              rotation_size: 2000
              enable_compression: \(layout.compression)
              max_rotated_files: \(layout.keep)
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            #expect(await logExportHasRun(port))
            let long = "long-" + String(repeating: "m", count: 495)
            for batch in 0..<3 {
                let entries = (0..<20).map { #"{"level": "info", "message": "\#(long) \#(batch)-\#($0)"}"# }
                let posted = try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": ["# + entries.joined(separator: ",") + "]}")
                #expect(posted.status == 200, "\(posted.body)")
            }
            // max_log_size: stored cut to 100 bytes.
            let stored = try await runtime.storage.database.pool.read { db in
                try String.fetchAll(db, sql: "SELECT message FROM monitoring_logs WHERE message LIKE 'long-%'")
            }
            #expect(stored.count == 60)
            #expect(stored.allSatisfy { $0.utf8.count <= 100 }, "\(stored.first ?? "")")

            let files = FileManager.default
            if layout.rotation {
                let suffix = layout.compression ? ".gz" : ""
                #expect(await eventually(30) { files.fileExists(atPath: file + ".\(layout.keep)\(suffix)") }, "the oldest kept file")
                #expect(!files.fileExists(atPath: file + ".\(layout.keep + 1)\(suffix)"), "more than max_rotated_files kept")
                #expect(!files.fileExists(atPath: file + ".1" + (layout.compression ? "" : ".gz")))
                // Right after a rotation there is no current file until the next line.
                let size = ((try? files.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0
                #expect(size <= 2000, "the current file is \(size) bytes")
                if layout.compression {
                    let head = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file + ".1.gz")).prefix(2))
                    #expect(head == [0x1F, 0x8B], "gzip magic")
                }
            } else {
                #expect(await eventually(30) { Self.exportedLines(file).filter { $0.contains("long-") }.count == 60 })
                #expect(!files.fileExists(atPath: file + ".1") && !files.fileExists(atPath: file + ".1.gz"))
                let size = (try files.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
                #expect(size > 6000, "one file of \(size) bytes, past rotation_size")
            }
        }
    }

    /// The lines of the current export file (rotated ones are not read).
    static func exportedLines(_ path: String) -> [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
    }

    @Test("tracing: a span open past max_trace_duration is closed as timed out; past max_open_spans new spans are not kept")
    func tracingKeys() async throws {
        try await withHost("""
            plugins: []
            tracing:
              enable_sampling: false
              max_trace_duration: 1s
              max_open_spans: 2
            """, logger: logger) { runtime in
            let engine = runtime.tracing.engine
            let context = engine.newContext(operation: "open-ended")
            let spans = (0..<3).map { engine.start("open-\($0)", context: context) }
            #expect(engine.openSpans == 2)
            #expect(engine.counts.overflow == 1)
            #expect(await eventually(20) { engine.counts.timedOut == 2 && engine.openSpans == 0 }, "\(engine.counts)")
            withExtendedLifetime(spans) {}
        }
    }

    @Test("alerts: default_for_duration, max_alerts_per_rule, enable_notifications and enable_silencing")
    func alertKeys() async throws {
        let receiver = WebhookReceiver()
        try await whileServing(receiver.application(logger: logger), logger: logger) {
            let hookPort = await receiver.waitForPort()
            try await withHost("""
                http:
                  port: 0
                plugins: []
                metrics:
                  flush_interval: 50ms
                alerts:
                  webhook_url: http://127.0.0.1:\(hookPort)/hook
                  enable_notifications: false
                  enable_silencing: false
                  default_for_duration: 300ms
                  max_alerts_per_rule: 2
                  rules:
                    - name: QueueTooDeep
                      query: queue_depth
                      condition: {greater_than: 100}
                      evaluation_interval: 100ms
                """, logger: logger) { runtime in
                let port = await runtime.boundAddress.waitForPort()
                let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                    {"metrics": [{"name": "queue_depth", "type": "gauge", "value": 150, "labels": {"queue": "a"}},
                                 {"name": "queue_depth", "type": "gauge", "value": 150, "labels": {"queue": "b"}},
                                 {"name": "queue_depth", "type": "gauge", "value": 150, "labels": {"queue": "c"}}]}
                    """)
                #expect(posted.status == 200)
                // default_for_duration: a rule without `for` fires after 300 ms (the default, 5m, would keep it pending).
                #expect(await eventually(20) { runtime.alerting.engine.telemetry.open[.firing] == 2 }, "\(runtime.alerting.engine.telemetry.open)")
                // max_alerts_per_rule: three series, two alerts.
                #expect(await eventually { (runtime.alerting.engine.telemetry.rules["QueueTooDeep"]?.evaluations ?? 0) >= 10 })
                let alerts = try jsonObject(try await httpGet(port, "/api/v1/alerts?rule=QueueTooDeep").body)
                #expect((alerts["alerts"] as? [[String: Any]])?.count == 2, "\(alerts)")
                // enable_notifications: false: firing alerts, and nothing sent.
                #expect(receiver.notifications.isEmpty, "\(receiver.notifications.map(\.event))")
                // enable_silencing: false: no silence is taken.
                let silence = try await httpSend(port, "POST", "/api/v1/silences", body: """
                    {"matchers": "{alertname=\\"QueueTooDeep\\"}", "duration": "1h", "created_by": "ana"}
                    """)
                #expect(silence.status == 409, "\(silence.body)")
                #expect(silence.body.contains("alerts.enable_silencing"), "\(silence.body)")
            }
        }
    }

    /// A health check that answers after `delay`.
    struct SlowCheck: HealthCheck {
        let delay: Duration
        func check() async -> HealthStatus {
            try? await Task.sleep(for: delay)
            return HealthStatus(component: "slow", status: .healthy, message: "late")
        }
    }

    /// A host whose Elasticsearch log exporter points at `port`, where nothing listens, so that every run with
    /// new entries fails; `extra` adds sections.
    static func failingExporterYAML(port: Int, _ extra: String) -> String {
        """
        http:
          port: 0
        plugins: []
        logs:
          enable_export: true
          export_interval: 100ms
        exporters:
          external_labels: {host: here}
          elasticsearch:
            enabled: true
            url: http://127.0.0.1:\(port)
            timeout: 200ms
        \(extra)
        """
    }

    @Test("health: check_timeout bounds a check; check_retries failures in a row make a component unhealthy")
    func healthKeys() async throws {
        // An exporter to a port nobody listens on fails every run: its component counts the failures.
        let closed = try freeTCPPort()
        try await withHost(Self.failingExporterYAML(port: closed, """
            health:
              check_timeout: 300ms
              check_retries: 20
            scheduler:
              max_backoff: 100ms
              jitter: 0
              breaker_failures: 1000
            """), logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            try await runtime.health.registerHealthCheck("slow", check: SlowCheck(delay: .seconds(30)))
            let started = ContinuousClock.now
            let slow = try await runtime.health.checkHealth("slow")
            #expect(slow.status == .unhealthy)
            #expect(slow.message.contains("did not answer within"), "\(slow.message)")
            #expect(ContinuousClock.now - started < .seconds(10))
            try await runtime.health.unregisterHealthCheck("slow")

            let job = "exporter:elasticsearch:logs"
            var sawDegraded = false
            var unhealthyTooSoon: [String] = []
            let unhealthy = try await eventually(60) {
                _ = try? await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "to export"}]}"#)
                let before = runtime.scheduler.status(of: job)?.consecutiveFailures ?? 0
                let status = try await runtime.health.checkHealth(job)
                let after = runtime.scheduler.status(of: job)?.consecutiveFailures ?? 0
                // 20 failures take a second or more: wide enough to see the degraded state under a loaded CI run
                // (with 4, the failures once outran the polling).
                if status.status == .degraded && before >= 1 && after < 20 { sawDegraded = true }
                if status.status == .unhealthy && after < 20 { unhealthyTooSoon.append("\(after): \(status.message)") }
                return status.status == .unhealthy
            }
            #expect(unhealthy)
            #expect(sawDegraded, "fewer than check_retries failures is degraded")
            #expect(unhealthyTooSoon.isEmpty, "\(unhealthyTooSoon)")
        }
    }

    @Test("scheduler: max_backoff caps the delay after failures; breaker_failures opens the breaker for breaker_cooldown")
    func schedulerKeys() async throws {
        let closed = try freeTCPPort()
        let yaml = { (scheduler: String) in Self.failingExporterYAML(port: closed, "scheduler:\n" + scheduler) }
        let job = "exporter:elasticsearch:logs"
        func failWhilePosting(_ runtime: MonitoringRuntime, until done: (JobStatus) -> Bool) async throws -> JobStatus? {
            let port = await runtime.boundAddress.waitForPort()
            var last: JobStatus?
            _ = await eventually(60) {
                _ = try? await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "to export"}]}"#)
                last = runtime.scheduler.status(of: job)
                return last.map(done) ?? false
            }
            return last
        }
        // max_backoff 150ms: after six failures in a row the delay is still at most 150 ms (without it: 3.2 s).
        try await withHost(yaml("  max_backoff: 150ms\n  jitter: 0\n  breaker_failures: 1000"), logger: logger) { runtime in
            let status = try await failWhilePosting(runtime) { $0.consecutiveFailures >= 6 }
            #expect((status?.consecutiveFailures ?? 0) >= 6)
            #expect(status?.nextDelay.map { $0 <= .milliseconds(150) } == true, "\(String(describing: status?.nextDelay))")
            #expect(status?.breaker == .closed)
        }
        // breaker_failures 2, breaker_cooldown 1h: two failures open the breaker; the job then waits an hour (the
        // cool-down is capped by max_backoff, so that is raised too).
        try await withHost(yaml("  max_backoff: 2h\n  breaker_failures: 2\n  breaker_cooldown: 1h"), logger: logger) { runtime in
            let status = try await failWhilePosting(runtime) { $0.breaker == .open }
            #expect(status?.breaker == .open)
            #expect(status?.consecutiveFailures == 2)
            #expect(status?.nextDelay.map { $0 > .seconds(3000) } == true, "\(String(describing: status?.nextDelay))")
        }
    }

    @Test("http: max_json_depth refuses deeper bodies with 400; max_connections holds a connection past the limit")
    func httpKeys() async throws {
        try await withHost("""
            http:
              port: 0
              max_json_depth: 8
              max_connections: 1
            plugins: []
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let deep = String(repeating: #"{"a":"#, count: 12) + "1" + String(repeating: "}", count: 12)
            let refused = try await rawRequest(port, "POST", "/api/v1/logs", headers: ["Content-Type": "application/json"], body: deep)
            #expect(refused.status == 400, "\(refused.body)")
            #expect(refused.body.contains("http.max_json_depth"), "\(refused.body)")

            // One connection held open (keep-alive) takes the only slot: a second one is not served until it closes.
            // (The slot of the request above is free once the server has seen that connection close: the first
            // read waits for that.)
            let (first, servedWhileFull, afterClose) = try await offPool { () throws -> (String, String, String) in
                let first = try RawConnection(port: port, timeout: 1)
                first.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                var answer = ""
                for _ in 0..<20 where answer.isEmpty { answer = first.readAll() }
                let second = try RawConnection(port: port, timeout: 1)
                second.send("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                let servedWhileFull = second.readAll()
                first.close()
                var afterClose = ""
                for _ in 0..<20 where afterClose.isEmpty { afterClose = second.readAll() }
                withExtendedLifetime(first) {}
                return (answer, servedWhileFull, afterClose)
            }
            #expect(first.hasPrefix("HTTP/1.1 200"), "\(first.prefix(100))")
            #expect(servedWhileFull.isEmpty, "served while the only connection slot was taken")
            #expect(afterClose.hasPrefix("HTTP/1.1 200"), "served once the first connection closed: \(afterClose.prefix(100))")
        }
    }

    @Test("security: redact_keys replaces the secret field names; redact_values masks matching words anywhere")
    func redactionKeys() async throws {
        try await withHost("""
            http:
              port: 0
            plugins: []
            security:
              redact_keys: "customer_pin"
              redact_values: "tok_[a-z0-9]+"
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let posted = try await httpSend(port, "POST", "/api/v1/logs", body: """
                {"logs": [{"level": "info", "message": "charged card with tok_abc123 today",
                           "fields": {"customer_pin": "4321", "password_hint": "kept: not a key in redact_keys"}}]}
                """)
            #expect(posted.status == 200, "\(posted.body)")
            let rows = try await runtime.storage.database.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT message, context FROM monitoring_logs WHERE message LIKE 'charged%'").map {
                    [$0["message"] as String? ?? "", $0["context"] as String? ?? ""]
                }
            }
            let message = rows.first?[0] ?? ""
            let fields = rows.first?[1] ?? ""
            #expect(message == "charged card with [REDACTED] today", "\(message)")
            #expect(fields.contains(#""customer_pin":"[REDACTED]""#), "\(fields)")
            #expect(!fields.contains("4321"))
            #expect(fields.contains("kept: not a key in redact_keys"), "the default keys are replaced, not extended: \(fields)")
        }
    }

    @Test("profiler: span_metrics off records no span series; span_buckets and max_operations shape them when on")
    func profilerKeys() async throws {
        for spanMetrics in [false, true] {
            try await withHost("""
                http:
                  port: 0
                plugins: []
                profiler:
                  span_metrics: \(spanMetrics)
                  span_buckets: [0.5, 5]
                  max_operations: 2
                """, logger: logger) { runtime in
                let port = await runtime.boundAddress.waitForPort()
                let engine = runtime.tracing.engine
                for operation in ["op-a", "op-b", "op-c"] {
                    let span = engine.start(operation, context: engine.newContext(operation: operation))
                    try engine.end(span, result: SpanResult())
                }
                let exposition = try await httpGet(port, "/metrics").body
                if spanMetrics {
                    #expect(exposition.contains(#"stepflow_span_duration_seconds_bucket{operation="op-a",status="ok",le="0.5"}"#), "\(exposition.prefix(2000))")
                    #expect(exposition.contains(#"stepflow_span_duration_seconds_bucket{operation="op-a",status="ok",le="5"}"#))
                    #expect(!exposition.contains(#"le="0.002""#), "the default buckets")
                    #expect(exposition.contains(#"stepflow_span_calls_total{operation="other",status="ok"} 1"#), "op-c past max_operations")
                    #expect(exposition.contains("stepflow_span_operations_overflow_total 1"))
                } else {
                    #expect(!exposition.contains("stepflow_span_calls_total"), "span metrics while span_metrics is off")
                }
            }
        }
    }

    @Test("storage: synchronous full makes every commit fsync (PRAGMA synchronous = 2); integrity_check_interval schedules the check")
    func storageKeys() async throws {
        // withHost writes `storage:` with its path first: these lines continue that mapping.
        try await withHost("""
              synchronous: full
              integrity_check_interval: 90m
            http:
              port: 0
            plugins: []
            """, logger: logger) { runtime in
            let mode = try await runtime.storage.database.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(mode == 2, "the writer's connection, the one that commits")
            let reads = try await runtime.storage.database.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(reads == 2)
            #expect(runtime.scheduler.status(of: "storage-integrity")?.schedule.interval == .seconds(5400))
        }
    }

    @Test("enable_sampling and sampling_rate decide which traces are kept; jitter spreads a job's runs; check_interval, collection_interval, enable_aggregation, series_expiry, logs.source")
    func samplingAndSchedulingKeys() async throws {
        for sampling in [true, false] {
            try await withHost("""
                http:
                  port: 0
                plugins: []
                tracing:
                  enable_sampling: \(sampling)
                  sampling_rate: 0
                health:
                  check_interval: \(sampling ? "45s" : "200ms")
                scheduler:
                  jitter: \(sampling ? "0" : "0.5")
                metrics:
                  series_expiry: 1s
                  collection_interval: 3s
                  enable_aggregation: \(!sampling)
                logs:
                  source: edge-7
                """, logger: logger) { runtime in
                let port = await runtime.boundAddress.waitForPort()
                let engine = runtime.tracing.engine
                for index in 0..<20 {
                    let span = engine.start("sampled-\(index)", context: engine.newContext(operation: "sampled-\(index)"))
                    try engine.end(span, result: SpanResult())
                }
                if sampling {
                    // sampling_rate 0 with enable_sampling: no trace is kept.
                    #expect(engine.counts.unsampled == 20 && engine.counts.recorded == 0, "\(engine.counts)")
                    // collection_interval: the period of the host's own collectors; enable_aggregation false: no roll-ups.
                    #expect(runtime.scheduler.status(of: "process")?.schedule.interval == .seconds(3))
                    #expect(runtime.scheduler.status(of: "aggregation") == nil)
                    // health.check_interval: the health job's period.
                    #expect(runtime.scheduler.status(of: "health")?.schedule.interval == .seconds(45))
                    // series_expiry 1s: a series posted over HTTP leaves memory (and /metrics) a second after its last sample.
                    let expiring = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "expiring", "type": "gauge", "value": 1}]}"#)
                    #expect(expiring.status == 200 && expiring.body.contains(#""accepted":1"#), "\(expiring.body)")
                    #expect(await eventually(10) { runtime.metrics.engine.value(of: "expiring", labels: []) == nil })
                    // logs.source: stamped on entries that name none.
                    _ = try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "sourceless"}]}"#)
                    let logs = try jsonObject(try await httpGet(port, "/api/v1/logs?q=sourceless").body)
                    #expect((logs["logs"] as? [[String: Any]])?.first?["source"] as? String == "edge-7", "\(logs)")
                } else {
                    #expect(runtime.scheduler.status(of: "aggregation") != nil)
                    // enable_sampling false: every trace is kept, whatever sampling_rate says.
                    #expect(engine.counts.recorded == 20 && engine.counts.unsampled == 0, "\(engine.counts)")
                    // jitter 0.5: the health job's next delays wander within ±50 % of its 200 ms.
                    var delays = Set<Duration>()
                    #expect(await eventually(20) {
                        if let delay = runtime.scheduler.status(of: "health")?.nextDelay { delays.insert(delay) }
                        return delays.count >= 3
                    }, "\(delays)")
                    #expect(delays.allSatisfy { $0 >= .milliseconds(100) && $0 <= .milliseconds(300) }, "\(delays)")
                    #expect(delays.contains { $0 != .milliseconds(200) })
                }
            }
        }
    }
}

