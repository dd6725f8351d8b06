import Foundation
import Logging
import StepflowConfig
import StepflowCore
import StepflowExport
import StepflowRuntime
import StepflowTestSupport
import StepflowWireFormats
import Testing

@Suite("Prometheus remote write", .serialized)
struct RemoteWriteTests {
    let logger = Logger(label: "remote-write-tests")

    @Test("Snappy blocks round-trip: empty, short, long literals, long and overlapping matches, over 64 KiB")
    func snappyRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let repetitive = Array(String(repeating: "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} ", count: 3_000).utf8)
        for input in [[], [7], Array("abc".utf8), Array(random.prefix(61)), random, repetitive, [UInt8](repeating: 0, count: 70_000),
                      Array(random.prefix(1000)) + Array(random.prefix(1000)) + Array(random.prefix(500))] {
            let compressed = Snappy.compress(input)
            #expect(try Snappy.decompress(compressed) == input, "\(input.count) bytes")
        }
        #expect(Snappy.compress(repetitive).count < repetitive.count / 10)
        #expect(throws: Snappy.CorruptInput.self) { try Snappy.decompress([5, 0x0d, 1]) }
    }

    @Test("a WriteRequest has one series per name and label set, labels sorted with __name__, samples in time order")
    func requestShape() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let request = RemoteWriteClient.request(for: [
            Metric(name: "temp", value: .gauge(2), labels: [Label("room", "b"), Label("floor", "1")],
                   timestamp: start.addingTimeInterval(10), metadata: ["help": .string("Degrees.")]),
            Metric(name: "temp", value: .gauge(1), labels: [Label("floor", "1"), Label("room", "b")], timestamp: start),
            Metric(name: "lat", value: .histogram(HistogramValue(
                sum: 1.5, count: 2, buckets: [HistogramBucket(upperBound: 1, count: 1)])), timestamp: start),
        ])
        let series = request.timeseries.map { series in
            series.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
        }
        #expect(series == [
            "__name__=temp,floor=1,room=b", "__name__=lat_bucket,le=1", "__name__=lat_bucket,le=+Inf",
            "__name__=lat_sum", "__name__=lat_count",
        ])
        #expect(request.timeseries[0].samples.map(\.value) == [1, 2])
        #expect(request.timeseries[0].samples.map(\.timestamp) == [1_800_000_000_000, 1_800_000_010_000])
        #expect(request.metadata.map(\.metricFamilyName) == ["lat", "temp"])
        #expect(request.metadata[1].help == "Degrees.")
        #expect(request.metadata[0].type == .histogram)
    }

    @Test(
        "stored samples reach a real Prometheus (--web.enable-remote-write-receiver), also those stored while it was down",
        .enabled(if: ExternalTool.runnable("prometheus")))
    func samplesReachPrometheus() async throws {
        let prometheus = try #require(ExternalTool.path("prometheus"), "\(ExternalTool.missing("prometheus", package: "prometheus"))")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let prometheusPort = try freeTCPPort()
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
            metrics:
              enable_export: true
              export_interval: 1s
              flush_interval: 50ms
            exporters:
              prometheus:
                enabled: true
                endpoint: http://127.0.0.1:\(prometheusPort)/api/v1/write
            plugins: []
            """)
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            let port = await runtime.boundAddress.waitForPort()
            func telemetry() async -> String { (try? await httpGet(port, "/metrics").body) ?? "" }
            /// The value of one exposed series, 0 when absent: a count is checked as "at least", since a slow poll
            /// may first see it after it has moved past 1.
            func exposed(_ series: String) async -> Double {
                let line = await telemetry().split(separator: "\n").first { $0.hasPrefix(series + " ") }
                return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            }
            // The exporter starts at the newest stored sample: wait for its first run before recording.
            #expect(await eventually(30) {
                await exposed(#"stepflow_job_runs_total{job="exporter:prometheus",kind="builtin"}"#) >= 1
            })
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [
                  {"name": "queue_depth", "type": "gauge", "value": 42, "labels": {"queue": "mail"}, "help": "Jobs waiting."},
                  {"name": "jobs_done_total", "type": "counter", "value": 7, "labels": {"queue": "mail"}},
                  {"name": "job_seconds", "type": "histogram", "sum": 3.5, "count": 4,
                   "buckets": [{"le": 0.5, "count": 1}, {"le": 1, "count": 3}]}
                ]}
                """)
            #expect(posted.status == 200 || posted.status == 202, "\(posted.body)")
            // Nothing listens yet: the export fails and keeps its position.
            #expect(await eventually(30) {
                await exposed(#"stepflow_job_failures_total{job="exporter:prometheus",kind="builtin"}"#) >= 1
            })

            let scrapeConfig = try directory.write("prometheus.yml", "global:\n  scrape_interval: 1m\n")
            let process = try startPrometheus(
                prometheus, config: scrapeConfig, directory: directory, port: prometheusPort,
                extra: ["--web.enable-remote-write-receiver"])
            defer { stopServer(process) }
            func value(_ expression: String) async -> String? { await prometheusValue(prometheusPort, expression) }
            #expect(await eventually(60) { await value(#"queue_depth{queue="mail"}"#) == "42" })
            #expect(await value(#"jobs_done_total{queue="mail"}"#) == "7")
            #expect(await value(#"job_seconds_bucket{le="1"}"#) == "3")
            #expect(await value(#"job_seconds_bucket{le="+Inf"}"#) == "4")
            #expect(await value("job_seconds_sum") == "3.5")
            let counted = await telemetry()
            // The three posted samples, and what the built-in process collector stored meanwhile.
            let sent = counted.split(separator: "\n")
                .first { $0.hasPrefix(#"stepflow_remote_write_samples_total{result="sent"} "#) }
                .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
            #expect(sent >= 3, "\(counted)")
            #expect(counted.contains(#"stepflow_remote_write_samples_total{result="rejected"} 0"#))
        }
    }
}
