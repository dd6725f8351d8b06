import StepflowConfig
import StepflowCore
import Testing

@Suite("Histogram buckets and summary quantiles in the configuration")
struct HistogramSettingsTests {
    @Test("default buckets, buckets per metric and quantiles are read from YAML lists and mappings")
    func readsListsAndMappings() throws {
        let loaded = try ConfigurationLoader.parse(
            yaml: """
                metrics:
                  histogram_buckets: [0.1, 1, 10]
                  histograms:
                    http_request_duration_seconds: [0.05, 0.5, 5]
                    queue_wait_seconds:
                      - 1
                      - 60
                  summary_quantiles: [0.5, 0.999]
                  summary_max_age: 2m
                """, file: "config.yaml", environment: [:])
        let metrics = loaded.metrics
        #expect(metrics.histogramBuckets == [0.1, 1, 10])
        #expect(metrics.histograms == [
            "http_request_duration_seconds": [0.05, 0.5, 5], "queue_wait_seconds": [1, 60],
        ])
        #expect(metrics.summaryQuantiles == [0.5, 0.999])
        #expect(metrics.summaryMaxAge == .seconds(120))
    }

    @Test("the environment sets default buckets and quantiles as comma-separated numbers")
    func environment() throws {
        let loaded = try ConfigurationLoader.parse(
            yaml: "", file: "config.yaml",
            environment: [
                "STEPFLOW_MONITORING_METRICS_HISTOGRAM_BUCKETS": "0.25, 0.5,1",
                "STEPFLOW_MONITORING_METRICS_SUMMARY_QUANTILES": "[0.9,0.99]",
            ])
        #expect(loaded.metrics.histogramBuckets == [0.25, 0.5, 1])
        #expect(loaded.metrics.summaryQuantiles == [0.9, 0.99])
        let issues = parseIssues("", environment: ["STEPFLOW_MONITORING_METRICS_HISTOGRAM_BUCKETS": "0.1,fast"])
        #expect(issues.map(\.description) == [
            "$STEPFLOW_MONITORING_METRICS_HISTOGRAM_BUCKETS: metrics.histogram_buckets: expected numbers separated "
                + "by commas (for example 0.1,0.5,1), found '0.1,fast'; fix or unset the variable"
        ])
    }

    @Test("bounds out of order, a quantile past 1, a bad name and a non-number are each reported where they are")
    func refusesBadValues() {
        let issues = parseIssues("""
            metrics:
              histogram_buckets: [1, 0.5]
              histograms:
                1bad: [1]
                latency_seconds: [0.1, .inf]
              summary_quantiles: [0.5, 1.5]
              summary_max_samples: 0
            """)
        let descriptions = issues.map(\.description)
        #expect(descriptions.count == 4, "\(descriptions)")
        #expect(descriptions.contains("config.yaml:2:22: metrics.histogram_buckets: must be strictly ascending, found 1.0 before 0.5"))
        #expect(descriptions.contains("config.yaml:4:5: metrics.histograms: '1bad' is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"))
        #expect(descriptions.contains("config.yaml:6:22: metrics.summary_quantiles: must hold quantiles between 0 and 1, found 1.5"))
        #expect(descriptions.contains("config.yaml:7:24: metrics.summary_max_samples: must be at least 1, found 0"))
        let listIssues = parseIssues("""
            metrics:
              histogram_buckets: [0.1, soon]
              summary_quantiles: 0.5
            """)
        #expect(listIssues.map(\.description) == [
            "config.yaml:2:28: metrics.histogram_buckets[1]: expected a number, found the text 'soon'",
            "config.yaml:3:22: metrics.summary_quantiles: expected a list of numbers such as [0.1, 0.5, 1], "
                + "found the number 0.5",
        ])
    }
}
