import Foundation
import Logging
import StepflowConfig
import StepflowCore
import StepflowExport
import StepflowRuntime
import StepflowTestSupport
import StepflowWireFormats
import SwiftProtobuf
import Testing

/// `POST /api/v1/write` on a running host: a real Prometheus 2.42 writing to it, our own exporter writing from one
/// host to another, and 10,000 mutated bodies (docs/ingest.md).
@Suite("The remote-write receiver of a running host", .serialized)
struct RemoteWriteReceiverHostTests {
    let logger = Logger(label: "remote-write-receiver-tests")

    /// The current series of `selector` on a host, from `GET /api/v1/metrics`.
    func currentSeries(_ port: Int, _ selector: String) async -> [[String: Any]] {
        let encoded = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? selector
        guard let answer = try? await httpGet(port, "/api/v1/metrics?match=\(encoded)"), answer.status == 200,
            let body = try? jsonObject(answer.body)
        else { return [] }
        return body["series"] as? [[String: Any]] ?? []
    }

    /// The stored points of `selector` over the last hour, from `GET /api/v1/metrics/query`.
    func storedPoints(_ port: Int, _ selector: String) async -> [[String: Any]] {
        let encoded = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? selector
        guard let answer = try? await httpGet(port, "/api/v1/metrics/query?match=\(encoded)"), answer.status == 200,
            let body = try? jsonObject(answer.body)
        else { return [] }
        let series = body["series"] as? [[String: Any]] ?? []
        return series.flatMap { $0["points"] as? [[String: Any]] ?? [] }
    }

    /// A host's configuration: its own database, any port, lines added to `http:` and `metrics:`, `extra` sections.
    func hostConfiguration(
        _ directory: TemporaryDirectory, http: [String] = [], metrics: [String] = [], extra: String = ""
    ) throws -> String {
        let metricsLines = (["flush_interval: 50ms"] + metrics).map { "  " + $0 }.joined(separator: "\n")
        let httpLines = (["port: 0"] + http).map { "  " + $0 }.joined(separator: "\n")
        return try directory.write("config-\(UUID().uuidString).yaml", """
            storage:
              path: \(directory.file("monitoring-\(UUID().uuidString).sqlite"))
            http:
            \(httpLines)
            metrics:
            \(metricsLines)
            plugins: []
            \(extra)
            """)
    }

    @Test(
        "a real Prometheus scraping the host remote-writes to it: samples stored, types and HELP from its metadata",
        .enabled(if: ExternalTool.runnable("prometheus")))
    func prometheusWritesToTheHost() async throws {
        guard let prometheus = ExternalTool.require("prometheus", package: "prometheus") else { return }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: hostConfiguration(directory), environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            let prometheusPort = try freeTCPPort()
            let config = try directory.write("prometheus.yml", """
                global:
                  scrape_interval: 1s
                scrape_configs:
                  - job_name: stepflow
                    static_configs:
                      - targets: ["127.0.0.1:\(port)"]
                remote_write:
                  - url: http://127.0.0.1:\(port)/api/v1/write
                    queue_config:
                      batch_send_deadline: 1s
                    metadata_config:
                      send: true
                      send_interval: 1s
                """)
            let process = try startPrometheus(prometheus, config: config, directory: directory, port: prometheusPort)
            defer { stopServer(process) }
            // `up` is Prometheus' own series for the scrape: a gauge, 1 while our /metrics answers.
            #expect(await eventually(90) {
                await currentSeries(port, #"up{job="stepflow"}"#).first?["value"] as? Int == 1
            })
            let up = await currentSeries(port, #"up{job="stepflow"}"#).first
            #expect(up?["type"] as? String == "gauge")
            #expect((up?["labels"] as? [String: String])?["instance"] == "127.0.0.1:\(port)")
            // A counter of ours, scraped and written back: its type and HELP arrive as metadata.
            #expect(await eventually(60) {
                await currentSeries(port, #"process_cpu_seconds_total{job="stepflow"}"#).first?["help"] is String
            })
            let cpu = await currentSeries(port, #"process_cpu_seconds_total{job="stepflow"}"#).first
            #expect(cpu?["type"] as? String == "counter")
            #expect(await storedPoints(port, #"up{job="stepflow"}"#).count >= 1)
            let telemetry = try await httpGet(port, "/metrics").body
            #expect(telemetry.contains(#"stepflow_ingest_requests_total{code="204",path="/api/v1/write"}"#), "\(telemetry)")
        }
    }

    @Test("our remote-write exporter on one host writes to the receiver of another; the samples are read back there")
    func hostToHost() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let receiving = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: hostConfiguration(directory), environment: [:]), logger: logger)
        try await whileRunning(receiving, logger: logger) {
            let receiverPort = await receiving.boundAddress.waitForPort()
            let sending = try await MonitoringRuntime(
                loaded: ConfigurationLoader.load(
                    path: hostConfiguration(
                        directory, metrics: ["enable_export: true", "export_interval: 1s"],
                        extra: """
                            exporters:
                              prometheus:
                                enabled: true
                                endpoint: http://127.0.0.1:\(receiverPort)/api/v1/write
                            """),
                    environment: [:]),
                logger: logger)
            try await whileRunning(sending, logger: logger) {
                let senderPort = await sending.boundAddress.waitForPort()
                // The exporter starts at the newest stored sample: wait for its first run before posting.
                #expect(await eventually(30) {
                    let exposed = (try? await httpGet(senderPort, "/metrics").body) ?? ""
                    let line = exposed.split(separator: "\n").first {
                        $0.hasPrefix(#"stepflow_job_runs_total{job="exporter:prometheus",kind="builtin"} "#)
                    }
                    return (line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0) >= 1
                })
                let posted = try await httpSend(senderPort, "POST", "/api/v1/metrics", body: """
                    {"metrics": [
                      {"name": "queue_depth", "type": "gauge", "value": 42, "labels": {"queue": "mail"}, "help": "Jobs waiting."},
                      {"name": "jobs_done_total", "type": "counter", "value": 7, "labels": {"queue": "mail"}},
                      {"name": "job_seconds", "type": "histogram", "sum": 3.5, "count": 4,
                       "buckets": [{"le": 0.5, "count": 1}, {"le": 1, "count": 3}]}
                    ]}
                    """)
                #expect(posted.status == 200, "\(posted.body)")
                let logged = try await httpSend(senderPort, "POST", "/api/v1/logs", body: #"{"logs": [{"level": "info", "message": "m"}, {"level": "loud", "message": "m"}]}"#)
                #expect(logged.status == 200, "\(logged.body)")
                let counted = try await httpGet(senderPort, "/metrics").body
                #expect(counted.contains(#"stepflow_ingest_items_total{outcome="accepted",path="/api/v1/logs"} 1"#), "\(counted)")
                #expect(counted.contains(#"stepflow_ingest_items_total{outcome="refused",path="/api/v1/logs"} 1"#))
                #expect(counted.contains(#"stepflow_ingest_items_total{outcome="accepted",path="/api/v1/metrics"} 3"#), "\(counted)")
                #expect(counted.contains(#"stepflow_ingest_requests_total{code="200",path="/api/v1/metrics"} 1"#))
                #expect(await eventually(30) {
                    await currentSeries(receiverPort, #"queue_depth{queue="mail"}"#).first?["value"] as? Int == 42
                })
                let depth = await currentSeries(receiverPort, #"queue_depth{queue="mail"}"#).first
                #expect(depth?["help"] as? String == "Jobs waiting.")
                #expect(await currentSeries(receiverPort, #"jobs_done_total{queue="mail"}"#).first?["type"] as? String == "counter")
                #expect(await eventually(30) {
                    await currentSeries(receiverPort, #"job_seconds_bucket{le="1"}"#).first?["value"] as? Int == 3
                })
                #expect(await currentSeries(receiverPort, #"job_seconds_bucket{le="+Inf"}"#).first?["value"] as? Int == 4)
                #expect(await currentSeries(receiverPort, "job_seconds_sum").first?["value"] as? Double == 3.5)
                #expect(await storedPoints(receiverPort, #"queue_depth{queue="mail"}"#).first?["value"] as? Int == 42)
            }
        }
    }

    /// A valid request body's protobuf: a few series with labels, samples and metadata.
    static func validRequest() throws -> [UInt8] {
        var request = Prometheus_WriteRequest()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for index in 0..<4 {
            var series = Prometheus_TimeSeries()
            series.labels = [("__name__", index % 2 == 0 ? "fuzz_requests_total" : "fuzz_depth"), ("instance", "i\(index)"),
                             ("job", "fuzz")].map { name, value in
                var label = Prometheus_Label()
                label.name = name
                label.value = value
                return label
            }
            series.samples = (0..<3).map { step in
                var sample = Prometheus_Sample()
                sample.value = Double(step + index)
                sample.timestamp = now - Int64(3 - step) * 1_000
                return sample
            }
            request.timeseries.append(series)
        }
        var metadata = Prometheus_MetricMetadata()
        metadata.metricFamilyName = "fuzz_requests_total"
        metadata.type = .counter
        metadata.help = "Requests."
        request.metadata = [metadata]
        return try request.serializedBytes()
    }

    static func mutate(_ bytes: [UInt8], _ random: inout FuzzRandom) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<4, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1:
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
            case 2 where !bytes.isEmpty:
                bytes.remove(at: Int.random(in: 0..<bytes.count, using: &random))
            default:
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            }
        }
        return bytes
    }
}

/// The fuzzers of the ingest paths run in the HTTP fuzz suite, one after another, so that no two of them load the
/// machine at once.
extension HTTPFuzzTests {
    @Test("10,000 mutated remote-write bodies: no crash, every answer 2xx or a 4xx that says why, the host stays up")
    func fuzzRemoteWrite() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let seed = fuzzSeed(default: 0x5EED_0016)
        let valid = try RemoteWriteReceiverHostTests.validRequest()
        try await withHost(directory, Self.ingestFuzzYAML, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let outcome = await Self.fuzz(seed: seed) { random in
                let body: [UInt8]
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4: body = Snappy.compress(RemoteWriteReceiverHostTests.mutate(valid, &random))
                case 4..<8: body = RemoteWriteReceiverHostTests.mutate(Snappy.compress(valid), &random)
                case 8: body = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                default: body = Snappy.compress(valid)
                }
                var headers = ["Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"]
                // Any printable ASCII: a header with control bytes is the HTTP parser's to refuse, not the route's.
                if random.chance(0.05) {
                    headers["Content-Type"] = String(FuzzCorpus.token(&random).unicodeScalars.filter { (0x20...0x7E).contains($0.value) })
                }
                if random.chance(0.05) { headers["Content-Encoding"] = "gzip" }
                guard let answer = try? blockingRawRequest(port, "POST", "/api/v1/write", headers: headers, bytes: body) else {
                    return (0, "no answer to a body of \(body.count) bytes")
                }
                let fine = (200..<300).contains(answer.status) || ((400..<500).contains(answer.status) && !answer.body.isEmpty)
                return (answer.status, fine ? nil : "\(answer.status) \(answer.body.prefix(200)) for \(body.prefix(64))")
            }
            Self.check(outcome, path: "/api/v1/write", seed: seed, count: 10_000, accepted: 500, refused: 1000)
            let live = try await rawRequest(port, "GET", "/health/live")
            #expect(live.status == 200)
        }
    }
}
