import Foundation
import StepflowCore
import StepflowServer
import StepflowTestSupport
import Testing

/// Series of every type, with labels that need escaping.
func sampleSeries() -> [MetricInfo] {
    let now = Date()
    return [
        MetricInfo(name: "z_gauge", type: .gauge, labels: [Label("path", "C:\\dir \"x\"\nnext")], help: "a gauge\\with\nnewline",
                   value: .gauge(-1.5), lastUpdated: now),
        MetricInfo(name: "requests_total", type: .counter, labels: [Label("code", "500")], help: "Requests.",
                   value: .counter(3), lastUpdated: now),
        MetricInfo(name: "requests_total", type: .counter, labels: [Label("code", "200")], help: "Requests.",
                   value: .counter(12), lastUpdated: now),
        MetricInfo(name: "latency_seconds", type: .histogram, labels: [], help: "Latency.",
                   value: .histogram(HistogramValue(sum: 1.25, count: 3, buckets: [
                       HistogramBucket(upperBound: 0.1, count: 1), HistogramBucket(upperBound: 1, count: 2),
                   ])), lastUpdated: now),
        MetricInfo(name: "size_bytes", type: .summary, labels: [Label("kind", "a")], help: nil,
                   value: .summary(SummaryValue(sum: 10, count: 4, quantiles: [
                       Quantile(quantile: 0.5, value: 2), Quantile(quantile: 0.99, value: .nan),
                   ])), lastUpdated: now),
        MetricInfo(name: "temperature", type: .gauge, labels: [], help: "Temp.", value: .gauge(.infinity), lastUpdated: now),
    ]
}

@Suite("Prometheus text format")
struct PrometheusTextEncoderTests {
    @Test("families appear once each, sorted, with HELP, TYPE, buckets, quantiles and escaping")
    func exactOutput() {
        let text = PrometheusTextEncoder.encode(sampleSeries())
        #expect(text == """
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="0.1"} 1
            latency_seconds_bucket{le="1"} 2
            latency_seconds_bucket{le="+Inf"} 3
            latency_seconds_sum 1.25
            latency_seconds_count 3
            # HELP requests_total Requests.
            # TYPE requests_total counter
            requests_total{code="200"} 12
            requests_total{code="500"} 3
            # HELP size_bytes size_bytes (no help text given)
            # TYPE size_bytes summary
            size_bytes{kind="a",quantile="0.5"} 2
            size_bytes{kind="a",quantile="0.99"} NaN
            size_bytes_sum{kind="a"} 10
            size_bytes_count{kind="a"} 4
            # HELP temperature Temp.
            # TYPE temperature gauge
            temperature +Inf
            # HELP z_gauge a gauge\\\\with\\nnewline
            # TYPE z_gauge gauge
            z_gauge{path="C:\\\\dir \\"x\\"\\nnext"} -1.5

            """)
    }

    @Test("promtool check metrics accepts the output", .enabled(if: ExternalTool.runnable("promtool")))
    func promtoolAccepts() throws {
        let promtool = try #require(ExternalTool.path("promtool"), "\(ExternalTool.missing("promtool", package: "prometheus"))")
        let result = try runProcess(promtool, ["check", "metrics"], input: PrometheusTextEncoder.encode(sampleSeries()))
        // 0: clean; 3: lint findings only (naming style). 1 means the text does not parse.
        #expect(result.status == 0 || result.status == 3, "promtool: \(result.output)")
    }
}

func findExecutable(_ name: String) -> String? { ChildProcess.find(name) }

func runProcess(_ executable: String, _ arguments: [String], input: String) throws -> (status: Int32, output: String) {
    try ChildProcess.run(executable, arguments, input: input)
}
