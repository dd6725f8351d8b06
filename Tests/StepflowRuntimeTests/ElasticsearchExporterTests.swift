import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import StepflowCore
import StepflowExport
import StepflowStorage
import StepflowTestSupport
import Testing

/// Issue 17, point 1: the Elasticsearch bulk exporter over a real SQLite file, sending over real HTTP to
/// ``ElasticsearchBulkReceiver`` on 127.0.0.1: documents, gzip, authentication, partial failures, 429 storms, a
/// mapping error among good documents, an outage across a restart, and the backlog bound.
@Suite("The Elasticsearch bulk exporter", .serialized)
struct ElasticsearchExporterTests {
    let logger = Logger(label: "elasticsearch-tests")

    /// A database with `entries` stored, a receiver running (unless `receiver` is nil), and a job factory.
    func withExporter(
        receiver: ElasticsearchBulkReceiver? = ElasticsearchBulkReceiver(),
        _ body: (_ database: MonitoringDatabase, _ url: String) async throws -> Void
    ) async throws {
        let directory = Scratch.root + "elasticsearch-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try MonitoringDatabase(path: directory + "/m.sqlite")
        guard let receiver else {
            try await body(database, "http://127.0.0.1:\(try freeTCPPort())")
            return
        }
        try await whileServing(receiver.application(logger: logger), logger: logger) {
            let port = await receiver.waitForPort()
            try await body(database, "http://127.0.0.1:\(port)")
        }
    }

    func logJob(
        _ database: MonitoringDatabase, url: String, settings: (inout ElasticsearchBulkSettings) -> Void = { _ in },
        batchSize: Int = 1_000, maxBacklogAge: Duration = .seconds(86_400), now: @escaping @Sendable () -> Date = Date.init
    ) -> DocumentExportJob<LogExportSource, ElasticsearchBulkSink<LogEntry>> {
        var bulk = ElasticsearchBulkSettings(url: url, index: "logs-test")
        bulk.timeout = .seconds(10)
        settings(&bulk)
        return DocumentExportJob(
            source: LogExportSource(store: LogStore(database: database)),
            sink: ElasticsearchBulkSink(settings: bulk, client: .shared) { ElasticsearchDocuments.log($0) },
            positions: ExportPositionStore(database: database), interval: .seconds(5), batchSize: batchSize,
            maxBacklogAge: maxBacklogAge, retryDelay: .milliseconds(10), logger: logger, now: now)
    }

    static func entries(_ count: Int, from start: Int = 0, at time: Date = Date()) -> [LogRow] {
        (start..<start + count).map { number in
            LogRow(LogEntry(
                level: number % 2 == 0 ? .info : .error, message: "entry \(number)",
                context: LogContext(
                    component: "shop", module: "cart", function: "add()", line: 42,
                    traceID: "5b8efff798038103d269b633813fc60c", spanID: "eee19b7ec3c1b174",
                    additionalFields: ["number": .int(Int64(number))]),
                timestamp: time, source: "test"))
        }
    }

    @Test("logs become ECS documents with @timestamp, sent gzip-compressed in bounded requests, each once")
    func logsArrive() async throws {
        let receiver = ElasticsearchBulkReceiver()
        try await withExporter(receiver: receiver) { database, url in
            let store = LogStore(database: database)
            let job = logJob(database, url: url) { $0.apiKey = "a2V5OnNlY3JldA==" }
            try await job.run()  // a new exporter starts at the newest row: nothing before it is sent
            try await store.insert(Self.entries(2_500))
            try await job.run()
            let documents = receiver.documents(in: "logs-test")
            #expect(documents.count == 2_500)
            #expect(receiver.requests == 3, "1,000 documents per request")
            #expect(receiver.gzipped == 3)
            #expect(receiver.authorizations.allSatisfy { $0 == "ApiKey a2V5OnNlY3JldA==" })
            let stored = try await store.entries(after: 0, limit: 1).first!.entry
            let document = try #require(documents[stored.id.rawValue])
            #expect(document["@timestamp"] as? String == stored.timestamp.rfc3339)
            #expect(document["message"] as? String == "entry 0")
            #expect(document["log.level"] as? String == "info")
            #expect(document["service.name"] as? String == "shop")
            #expect(document["log.logger"] as? String == "cart")
            #expect(document["log.origin.function"] as? String == "add()")
            #expect(document["log.origin.file.line"] as? Int == 42)
            #expect(document["trace.id"] as? String == "5b8efff798038103d269b633813fc60c")
            #expect(document["span.id"] as? String == "eee19b7ec3c1b174")
            #expect((document["fields"] as? [String: Any])?["number"] as? Int == 0)
            // Nothing new: nothing sent.
            try await job.run()
            #expect(receiver.requests == 3)
            #expect(job.statistics.counts.sent == 2_500)
            #expect(job.statistics.counts.backlogRows == 0)
        }
    }

    @Test("a mapping error is skipped and counted, and never blocks the documents behind it; bytes bound requests")
    func mappingErrorDoesNotBlock() async throws {
        let receiver = ElasticsearchBulkReceiver()
        try await withExporter(receiver: receiver) { database, url in
            let store = LogStore(database: database)
            let job = logJob(database, url: url) {
                $0.gzip = false
                $0.maxBytes = 20_000
            }
            try await job.run()
            var rows = Self.entries(100)
            // fields.number is mapped as a number by the first document; this one makes it text: refused.
            rows[50].entry.context.additionalFields["number"] = .string("fifty")
            rows[50] = LogRow(rows[50].entry)
            try await store.insert(rows)
            try await job.run()
            #expect(receiver.documents(in: "logs-test").count == 99)
            #expect(job.statistics.counts.failed == 1)
            #expect(job.statistics.counts.sent == 99)
            #expect(receiver.requests > 1, "100 documents of ~500 bytes do not fit 20,000 bytes")
            #expect(receiver.gzipped == 0)
            // The position moved past it: the next run sends only what is new.
            try await store.insert(Self.entries(10, from: 100))
            try await job.run()
            #expect(receiver.documents(in: "logs-test").count == 109)
            #expect(job.statistics.counts.failed == 1)
        }
    }

    @Test("items refused with 429 or 503 are sent again with backoff; a 429 storm on whole requests loses nothing")
    func retries() async throws {
        let receiver = ElasticsearchBulkReceiver()
        try await withExporter(receiver: receiver) { database, url in
            let store = LogStore(database: database)
            let job = logJob(database, url: url)
            try await job.run()
            try await store.insert(Self.entries(300))
            // Every item is refused twice (429, then 503) and taken on the third attempt.
            receiver.failItems { _, _, attempt in attempt == 1 ? 429 : attempt == 2 ? 503 : nil }
            try await job.run()
            #expect(receiver.documents(in: "logs-test").count == 300)
            #expect(job.statistics.counts.retried == 600)
            #expect(job.statistics.counts.sent == 300)

            // Refused more than three times: the run fails, the items stay unsent, and go at a later run.
            receiver.failItems { _, _, attempt in attempt <= 3 ? 429 : nil }
            try await store.insert(Self.entries(50, from: 300))
            await #expect(throws: MonitoringError.self) { try await job.run() }
            #expect(receiver.documents(in: "logs-test").count == 300)
            #expect(job.statistics.counts.lastError != nil)
            try await job.run()
            #expect(receiver.documents(in: "logs-test").count == 350)
            #expect(job.statistics.counts.lastError == nil)

            // Whole requests answered 429 five times in a row: sent again within the run (three attempts), so the
            // first run fails and the second gets through; nothing is lost or doubled.
            receiver.failItems(nil)
            try await store.insert(Self.entries(40, from: 350))
            receiver.failNextRequests(5, status: 429)
            let retriedBefore = job.statistics.counts.retried
            var failures = 0
            while receiver.documents(in: "logs-test").count < 390, failures < 10 {
                do { try await job.run() } catch { failures += 1 }
            }
            #expect(failures == 1)
            #expect(job.statistics.counts.retried - retriedBefore == 40 * 4, "two retries in each run")
            #expect(receiver.documents(in: "logs-test").count == 390)
            #expect(receiver.creates == 390)
        }
    }

    @Test("an outage across a restart: nothing is lost, and nothing acknowledged is sent twice")
    func outageAcrossRestart() async throws {
        let directory = Scratch.root + "elasticsearch-outage-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try freeTCPPort()
        let url = "http://127.0.0.1:\(port)"
        let path = directory + "/m.sqlite"
        do {
            let database = try MonitoringDatabase(path: path)
            // AsyncHTTPClient retries a refused connection until the request's deadline.
            let job = logJob(database, url: url) { $0.timeout = .seconds(1) }
            try await job.run()
            try await LogStore(database: database).insert(Self.entries(200))
            // Nothing listens: each run fails and the position stays.
            await #expect(throws: MonitoringError.self) { try await job.run() }
            await #expect(throws: MonitoringError.self) { try await job.run() }
            #expect(try await ExportPositionStore(database: database).position(of: job.name) == 0)
        }
        // The host restarts (a new database handle, a new job) and the receiver comes back.
        let receiver = ElasticsearchBulkReceiver(port: port)
        try await whileServing(receiver.application(logger: logger), logger: logger) {
            #expect(await receiver.waitForPort() == port)
            let database = try MonitoringDatabase(path: path)
            let job = logJob(database, url: url)
            try await LogStore(database: database).insert(Self.entries(100, from: 200))
            try await job.run()
            #expect(receiver.documents(in: "logs-test").count == 300)
            #expect(receiver.creates == 300)
            // A request whose answer was lost is sent again: `create` of existing ids is 409, counted as sent.
            try await ExportPositionStore(database: database).setPosition(0, of: job.name)
            try await job.run()
            #expect(receiver.creates == 300, "nothing created twice")
            #expect(receiver.documents(in: "logs-test").count == 300)
        }
    }

    @Test("entries older than max_backlog_age are dropped unsent, counted; the lag is measured and degrades health")
    func backlogBound() async throws {
        let receiver = ElasticsearchBulkReceiver()
        try await withExporter(receiver: receiver) { database, url in
            let store = LogStore(database: database)
            let job = logJob(database, url: url, maxBacklogAge: .seconds(3_600))
            try await job.run()
            try await store.insert(Self.entries(30, at: Date().addingTimeInterval(-7_200)))
            try await store.insert(Self.entries(20, from: 30))
            try await job.run()
            #expect(receiver.documents(in: "logs-test").count == 20)
            #expect(job.statistics.counts.dropped == 30)
            #expect(job.statistics.counts.sent == 20)
            // With the receiver failing past the run's three attempts, the backlog and its age show.
            receiver.failNextRequests(3, status: 503)
            try await store.insert(Self.entries(5, from: 50, at: Date().addingTimeInterval(-60)))
            await #expect(throws: MonitoringError.self) { try await job.run() }
            #expect(job.statistics.counts.backlogRows == 5)
            #expect(job.statistics.counts.lagSeconds >= 59, "\(job.statistics.counts.lagSeconds)")
            // 60 s behind with a 5 s interval: the exporter's health component is degraded, with the last error.
            struct Scheduled: HealthCheck {
                func check() async -> HealthStatus { HealthStatus(component: "exporter", status: .healthy, message: "ok") }
            }
            let health = ExportHealthCheck(base: Scheduled(), exporter: DocumentExporterStatus(job))
            let degraded = await health.check()
            #expect(degraded.status == .degraded)
            #expect(degraded.message.contains("more than 3 × export_interval"), "\(degraded.message)")
            #expect(degraded.details["backlog_rows"] == .int(5))
            #expect(degraded.details["last_error"] != nil)
            try await job.run()
            #expect(receiver.documents(in: "logs-test").count == 25)
            #expect(job.statistics.counts.backlogRows == 0)
            #expect(job.statistics.counts.lagSeconds == 0)
            #expect(await health.check().status == .healthy)
        }
    }

    @Test("external labels go into every document's labels, never over a sample's own")
    func externalLabels() throws {
        let external = [Label("host", "node-1"), Label("region", "eu")]
        let log = ElasticsearchDocuments.log(LogEntry(level: .info, message: "m"), externalLabels: external)
        guard case .object(let source) = log.source, case .object(let labels)? = source["labels"] else {
            Issue.record("no labels")
            return
        }
        #expect(labels == ["host": .string("node-1"), "region": .string("eu")])
        let sample = ElasticsearchDocuments.metric(
            Metric(name: "up", value: .gauge(1), labels: [Label("host", "own")]), externalLabels: external)
        guard case .object(let metric) = sample.source, case .object(let metricLabels)? = metric["labels"] else {
            Issue.record("no labels")
            return
        }
        #expect(metricLabels == ["host": .string("own"), "region": .string("eu")])
    }

    @Test("metrics and spans become documents with their ECS fields")
    func metricsAndSpans() async throws {
        let receiver = ElasticsearchBulkReceiver()
        try await withExporter(receiver: receiver) { database, url in
            let positions = ExportPositionStore(database: database)
            let sink = ElasticsearchBulkSink<Metric>(
                settings: ElasticsearchBulkSettings(url: url, index: "metrics-test"), client: .shared) { ElasticsearchDocuments.metric($0) }
            let metrics = DocumentExportJob(
                source: MetricExportSource(store: MetricStore(database: database)), sink: sink, positions: positions,
                interval: .seconds(5), batchSize: 500, maxBacklogAge: .seconds(3_600), logger: logger)
            try await metrics.run()
            let now = Date(unixMilliseconds: Date().unixMilliseconds)
            try await MetricStore(database: database).insert([
                Metric(name: "requests_total", value: .counter(7), labels: [Label("code", "200")], timestamp: now),
                Metric(
                    name: "latency_seconds",
                    value: .histogram(HistogramValue(sum: 1.5, count: 3, buckets: [
                        HistogramBucket(upperBound: 0.5, count: 1), HistogramBucket(upperBound: .infinity, count: 3),
                    ])), timestamp: now),
            ])
            try await metrics.run()
            let documents = Array(receiver.documents(in: "metrics-test").values)
            #expect(documents.count == 2)
            let counter = try #require(documents.first { $0["metric.name"] as? String == "requests_total" })
            #expect(counter["metric.value"] as? Double == 7)
            #expect(counter["metric.type"] as? String == "counter")
            #expect((counter["labels"] as? [String: Any])?["code"] as? String == "200")
            #expect(counter["@timestamp"] as? String == now.rfc3339)
            let histogram = try #require(documents.first { $0["metric.name"] as? String == "latency_seconds" })
            let buckets = histogram["metric.buckets"] as? [[String: Any]]
            #expect(buckets?.last?["le"] as? String == "+Inf")
            #expect(histogram["metric.count"] as? Int == 3)

            let spans = DocumentExportJob(
                source: SpanExportSource(store: TraceStore(database: database)),
                sink: ElasticsearchBulkSink<Span>(
                    settings: ElasticsearchBulkSettings(url: url, index: "traces-test"), client: .shared) { ElasticsearchDocuments.span($0) },
                positions: positions, interval: .seconds(5), batchSize: 500, maxBacklogAge: .seconds(3_600), logger: logger)
            try await spans.run()
            let trace = try #require(TraceID(hex: "5b8efff798038103d269b633813fc60c"))
            let parent = try #require(SpanID(hex: "eee19b7ec3c1b174"))
            let child = try #require(SpanID(hex: "eee19b7ec3c1b175"))
            try await TraceStore(database: database).insert([
                SpanRow(Span(spanID: parent, traceID: trace, name: "GET /cart", startTime: now, endTime: now.addingTimeInterval(0.25),
                             metadata: ["span.kind": .string("server"), "http.method": .string("GET")], status: .ok)),
                SpanRow(Span(spanID: child, traceID: trace, parentSpanID: parent, name: "SELECT", startTime: now,
                             endTime: now.addingTimeInterval(0.1), events: [TraceEvent(name: "retry", timestamp: now, attributes: ["n": .int(2)])],
                             status: .error)),
            ])
            try await spans.run()
            let spanDocuments = receiver.documents(in: "traces-test")
            let server = try #require(spanDocuments["\(trace)-\(parent)"])
            #expect(server["span.kind"] as? String == "server")
            #expect(server["event.duration"] as? Int == 250_000_000)
            #expect(server["event.outcome"] as? String == "success")
            #expect((server["attributes"] as? [String: Any])?["http.method"] as? String == "GET")
            let select = try #require(spanDocuments["\(trace)-\(child)"])
            #expect(select["parent.id"] as? String == "\(parent)")
            #expect(select["event.outcome"] as? String == "failure")
            #expect((select["span.events"] as? [[String: Any]])?.first?["name"] as? String == "retry")
        }
    }
}

/// The exporter in a running host: turned on by `exporters.elasticsearch.enabled` with `logs.enable_export`,
/// reported in `/metrics` and `/health`.
@Suite("The Elasticsearch exporter in a running host", .serialized)
struct ElasticsearchHostTests {
    let logger = Logger(label: "elasticsearch-host-tests")

    @Test("logs posted to the host arrive in the log index; the exporter shows in /metrics and /health")
    func hostExports() async throws {
        let receiver = ElasticsearchBulkReceiver()
        try await whileServing(receiver.application(logger: logger), logger: logger) {
            let elastic = await receiver.waitForPort()
            let yaml = """
                http:
                  port: 0
                plugins: []
                logs:
                  enable_export: true
                  export_interval: 1s
                  flush_interval: 100ms
                metrics:
                  enable_export: true
                  export_interval: 1s
                  flush_interval: 100ms
                tracing:
                  enable_export: true
                  export_interval: 1s
                exporters:
                  external_labels: {host: es-host}
                  elasticsearch:
                    enabled: true
                    url: "http://127.0.0.1:\(elastic)"
                    log_index: "host-logs"
                    metrics_index: "host-metrics"
                    traces_index: "host-traces"
                    username: "writer"
                    password: "s3cret"
                    gzip: false
                    max_batch_documents: 1

                """
            try await withHost(yaml, logger: logger) { runtime in
                let port = await runtime.boundAddress.waitForPort()
                // The exporter starts at the newest row on its first run: wait for it.
                #expect(try await eventually(30) {
                    let health = try jsonObject(try await httpGet(port, "/health").body)
                    let exporter = (health["components"] as? [String: Any])?["exporter:elasticsearch:logs"] as? [String: Any]
                    return ((exporter?["details"] as? [String: Any])?["runs"] as? Int ?? 0) >= 1
                }, "the exporter's first run")
                let posted = try await httpSend(port, "POST", "/api/v1/logs", body: """
                    {"logs": [{"level": "warn", "message": "exported-one", "component": "checkout"},
                              {"level": "error", "message": "exported-two", "component": "checkout"}]}
                    """)
                #expect(posted.status == 200, "\(posted.body)")
                #expect(await eventually(30) {
                    let messages = receiver.documents(in: "host-logs").values.compactMap { $0["message"] as? String }
                    return messages.contains("exported-one") && messages.contains("exported-two")
                }, "both entries in the index")
                let document = receiver.documents(in: "host-logs").values.first { $0["message"] as? String == "exported-two" }
                #expect(document?["log.level"] as? String == "error")
                #expect(document?["service.name"] as? String == "checkout")
                let exposition = try await httpGet(port, "/metrics").body
                #expect(exposition.contains(#"stepflow_export_sent_total{exporter="elasticsearch",kind="logs"}"#), "\(exposition.prefix(300))")
                #expect(exposition.contains(#"stepflow_export_lag_seconds{exporter="elasticsearch",kind="logs"}"#))

                // Samples and spans go to their own indices; every request carries the basic credentials, plain
                // (gzip: false), one document each (max_batch_documents: 1); external labels under labels.
                _ = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "es_probe", "type": "gauge", "value": 5}]}"#)
                let now = Date().unixMilliseconds
                _ = try await httpSend(port, "POST", "/api/v1/spans", body: """
                    {"spans": [{"trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174", "name": "probe",
                                "start_time": \(now - 100), "end_time": \(now)}]}
                    """)
                #expect(await eventually(30) {
                    receiver.documents(in: "host-metrics").values.contains { $0["metric.name"] as? String == "es_probe" }
                        && receiver.documents(in: "host-traces")["5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"] != nil
                }, "a sample and a span in their indices")
                let probe = receiver.documents(in: "host-metrics").values.first { $0["metric.name"] as? String == "es_probe" }
                #expect((probe?["labels"] as? [String: Any])?["host"] as? String == "es-host")
                let basic = "Basic " + Data("writer:s3cret".utf8).base64EncodedString()
                #expect(!receiver.authorizations.isEmpty && receiver.authorizations.allSatisfy { $0 == basic })
                #expect(receiver.gzipped == 0)
                #expect(receiver.requests >= receiver.creates, "one document per request")
            }
        }
    }

    @Test("max_batch_bytes from the YAML bounds every _bulk request body, also when more documents would fit")
    func batchBytesFromConfiguration() async throws {
        let receiver = ElasticsearchBulkReceiver()
        try await whileServing(receiver.application(logger: logger), logger: logger) {
            let elastic = await receiver.waitForPort()
            let yaml = """
                http:
                  port: 0
                plugins: []
                logs:
                  enable_export: true
                  export_interval: 200ms
                exporters:
                  elasticsearch:
                    enabled: true
                    url: "http://127.0.0.1:\(elastic)"
                    max_batch_documents: 1000
                    max_batch_bytes: 3000

                """
            try await withHost(yaml, logger: logger) { runtime in
                let port = await runtime.boundAddress.waitForPort()
                #expect(await logExportHasRun(port))
                let filler = String(repeating: "b", count: 400)
                let entries = (0..<30).map { #"{"level": "info", "message": "sized-\#($0) \#(filler)"}"# }
                let posted = try await httpSend(port, "POST", "/api/v1/logs", body: #"{"logs": ["# + entries.joined(separator: ",") + "]}")
                #expect(posted.status == 200, "\(posted.body)")
                #expect(await eventually(30) { receiver.documents(in: "stepflow-logs").count >= 30 }, "\(receiver.creates) documents")
                // Thirty documents of ~600 bytes: one request each few documents, none over 3000 bytes.
                #expect(receiver.largestBody <= 3000, "a request of \(receiver.largestBody) bytes")
                #expect(receiver.requests >= 6, "\(receiver.requests) requests")
            }
        }
    }
}
