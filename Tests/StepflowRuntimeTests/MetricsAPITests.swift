import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowStorage
import StepflowTestSupport
import Testing

@Suite("The metrics HTTP API", .serialized)
struct MetricsAPITests {
    let logger = Logger(label: "metrics-api-tests")

    /// Runs a host without plugins on a free port and hands its port to `body`.
    func withHost(maxBodySize: Int = 1 << 20, _ body: (Int, MonitoringRuntime) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write(
            "config.yaml",
            """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              port: 0
              max_body_size: \(maxBodySize)
            metrics:
              flush_interval: 50ms
              max_series_per_metric: 3
              # The samples these tests post are days old: the aggregation job would roll them up at any moment.
              enable_aggregation: false
            plugins: []
            """)
        let runtime = try await MonitoringRuntime(loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger)
        try await whileRunning(runtime, logger: logger) {
            try await body(await runtime.boundAddress.waitForPort(), runtime)
        }
    }

    @Test("a batch of all four types is recorded, listed with its values, exposed on /metrics and stored")
    func ingestAndRead() async throws {
        try await withHost { port, runtime in
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [
                  {"name": "queue_depth", "type": "gauge", "value": 12, "labels": {"queue": "mail"}, "help": "Jobs waiting."},
                  {"name": "jobs_done_total", "type": "counter", "value": 1042, "timestamp": "2026-12-01T10:00:00Z"},
                  {"name": "job_seconds", "type": "histogram", "sum": 12.5, "count": 40,
                   "buckets": [{"le": 0.1, "count": 10}, {"le": 1, "count": 38}, {"le": "+Inf", "count": 40}]},
                  {"name": "payload_bytes", "type": "summary", "sum": 9000, "count": 12,
                   "quantiles": [{"quantile": 0.5, "value": 700}, {"quantile": 0.99, "value": "NaN"}]}
                ]}
                """)
            #expect(posted.status == 200, "\(posted.body)")
            let answer = try jsonObject(posted.body)
            #expect(answer["accepted"] as? Int == 4)
            #expect((answer["refused"] as? [Any])?.isEmpty == true)

            let listed = try jsonObject(try await httpGet(port, "/api/v1/metrics?match=queue_depth%7Bqueue%3D%22mail%22%7D").body)
            let series = try #require(listed["series"] as? [[String: Any]])
            #expect(series.count == 1)
            #expect(series.first?["value"] as? Int == 12)
            #expect(series.first?["help"] as? String == "Jobs waiting.")
            #expect((series.first?["labels"] as? [String: String]) == ["queue": "mail"])

            let histograms = try jsonObject(try await httpGet(port, "/api/v1/metrics?type=histogram").body)
            let histogram = try #require((histograms["series"] as? [[String: Any]])?.first?["value"] as? [String: Any])
            #expect(histogram["count"] as? Int == 40)
            #expect((histogram["buckets"] as? [[String: Any]])?.count == 2)

            let exposition = try await httpGet(port, "/metrics").body
            #expect(exposition.contains("queue_depth{queue=\"mail\"} 12\n"))
            #expect(exposition.contains("job_seconds_bucket{le=\"+Inf\"} 40\n"))
            #expect(exposition.contains("payload_bytes{quantile=\"0.99\"} NaN\n"))

            #expect(try await eventually { try await MetricStore(database: runtime.storage.database).count(name: "jobs_done_total") == 1 })
            let query = try await httpGet(
                port, "/api/v1/metrics/query?name=jobs_done_total&start=2026-12-01T09:00:00Z&end=2026-12-01T11:00:00Z")
            #expect(query.status == 200)
            let points = try #require(((jsonObject(query.body)["series"] as? [[String: Any]])?.first?["points"]) as? [[String: Any]])
            #expect(points.count == 1)
            #expect(points.first?["kind"] as? String == "raw")
            #expect(points.first?["value"] as? Int == 1042)
            #expect(points.first?["timestamp"] as? Int == 1_796_119_200_000)
        }
    }

    @Test("bad items are refused one by one with their position; the rest are recorded")
    func perItemErrors() async throws {
        try await withHost { port, runtime in
            let posted = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [
                  {"name": "good", "type": "gauge", "value": 1},
                  {"name": "1bad", "type": "gauge", "value": 1},
                  {"name": "neg_total", "type": "counter", "value": -3},
                  {"name": "typo", "type": "gauge", "vlaue": 1},
                  {"name": "nolabels", "type": "gauge", "value": 1, "labels": {"a": 3}},
                  {"name": "good", "type": "counter", "value": 2},
                  "not an object"
                ]}
                """)
            #expect(posted.status == 200)
            let answer = try jsonObject(posted.body)
            #expect(answer["accepted"] as? Int == 1)
            let refused = try #require(answer["refused"] as? [[String: Any]])
            #expect(refused.compactMap { $0["index"] as? Int } == [1, 2, 3, 4, 5, 6])
            let errors = refused.compactMap { $0["error"] as? String }
            #expect(errors[0].contains("does not match [a-zA-Z_:]"))
            #expect(errors[1].contains("finite number ≥ 0"))
            #expect(errors[2] == "unknown key \"vlaue\" (did you mean \"value\"?)")
            #expect(errors[3] == "label \"a\" must be a string, found a number")
            #expect(errors[4] == "good is a gauge; a counter sample cannot share its name")
            #expect(errors[5] == "expected an object, found the string \"not an object\"")
            #expect(try await runtime.metrics.engine.getMetric("good", labels: []) == .gauge(1))

            let none = try await httpSend(
                port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "x", "type": "gauge"}]}"#)
            #expect(none.status == 400)
            #expect(none.body.contains("a gauge needs a \\\"value\\\""))
        }
    }

    @Test("malformed JSON, a wrong shape, a big body and a cardinality limit get clear answers; nothing is lost")
    func badBodies() async throws {
        try await withHost(maxBodySize: 4096) { port, runtime in
            let ok = try await httpSend(
                port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": "kept", "type": "gauge", "value": 7}]}"#)
            #expect(ok.status == 200)

            let malformed = try await httpSend(port, "POST", "/api/v1/metrics", body: #"{"metrics": [{"name": }"#)
            #expect(malformed.status == 400)
            #expect(try jsonObject(malformed.body)["error"].map { "\($0)" }?.hasPrefix("the body is not valid JSON") == true)

            let shape = try await httpSend(port, "POST", "/api/v1/metrics", body: #"[{"name": "x"}]"#)
            #expect(shape.status == 400)
            #expect(shape.body.contains("must be a JSON object with a \\\"metrics\\\" array"))

            let big = String(repeating: " ", count: 5000) + #"{"metrics": []}"#
            let tooLarge = try await httpSend(port, "POST", "/api/v1/metrics", body: big)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.body.contains("http.max_body_size (4096 bytes)"))

            let series = (0..<4).map { #"{"name": "wide", "type": "gauge", "value": 1, "labels": {"i": "\#($0)"}}"# }
            let limited = try await httpSend(
                port, "POST", "/api/v1/metrics", body: #"{"metrics": [\#(series.joined(separator: ","))]}"#)
            #expect(limited.status == 200)
            let refused = try #require(try jsonObject(limited.body)["refused"] as? [[String: Any]])
            #expect(refused.count == 1)
            #expect((refused.first?["error"] as? String)?.contains("metrics.max_series_per_metric") == true)

            #expect(try await runtime.metrics.engine.getMetric("kept", labels: []) == .gauge(7))
        }
    }

    @Test("a selector that does not parse, a bad regex, a bad time and an inverted range are 400s that say why")
    func badQueries() async throws {
        try await withHost { port, _ in
            let selector = try await httpGet(port, "/api/v1/metrics?match=up%7Bjob%3D%22a%22")
            #expect(selector.status == 400)
            #expect(selector.body.contains("at column 11"))
            #expect(selector.body.contains("expected ',' or '}'"))
            let regex = try await httpGet(port, "/api/v1/metrics?regex=(unclosed")
            #expect(regex.status == 400)
            #expect(regex.body.contains("does not compile"))
            let time = try await httpGet(port, "/api/v1/metrics?since=yesterday")
            #expect(time.status == 400)
            #expect(time.body.contains("since: expected RFC 3339"))
            let inverted = try await httpGet(port, "/api/v1/metrics/query?name=x&start=2000&end=1000")
            #expect(inverted.status == 400)
            #expect(inverted.body.contains("inverted"))
            let nameless = try await httpGet(port, "/api/v1/metrics/query?match=%7Bjob%3D%22a%22%7D")
            #expect(nameless.status == 400)
            #expect(nameless.body.contains("must start with a metric name"))
        }
    }
}
