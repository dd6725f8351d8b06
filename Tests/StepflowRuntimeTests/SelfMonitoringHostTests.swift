import Foundation
import Logging
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

@Suite("The host's own series, stored, and span metrics")
struct SelfMonitoringHostTests {
    private static let config = """
        http:
          port: 0
        metrics:
          collection_interval: 200ms
          flush_interval: 50ms
        alerts:
          rules:
            - name: CheckoutErrors
              query: rate(stepflow_span_calls_total{operation="checkout",status="error"}[5m])
              condition: {greater_than: 0}
              for: 0s
              evaluation_interval: 200ms
        plugins: []
        """

    @Test("spans posted over HTTP become RED series, stored like any series; a rule on them fires")
    func spansToRule() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, Self.config, logger: Logger(label: "self-monitoring-tests")) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            func post(_ spanID: String, status: String) async throws -> Int {
                try await httpSend(port, "POST", "/api/v1/spans", body: """
                    {"spans": [{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "\(spanID)",
                      "name": "checkout", "start_time": "2026-12-01T10:00:00Z", "end_time": "2026-12-01T10:00:00.030Z",
                      "status": "\(status)"}]}
                    """).status
            }
            #expect(try await post("00f067aa0ba90001", status: "ok") == 200)
            // The error counter starts at zero with the operation's first span: stored before the rise, so that
            // rate() sees it.
            #expect(try await eventually {
                let list = try await httpGet(port, "/api/v1/metrics?name=stepflow_span_calls_total&label=status%3Derror").body
                return list.contains(#""operation":"checkout""#)
            })
            #expect(try await post("00f067aa0ba90002", status: "error") == 200)
            let metrics = try await httpGet(port, "/metrics").body
            #expect(metrics.contains(#"stepflow_span_calls_total{operation="checkout",status="ok"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"stepflow_span_calls_total{operation="checkout",status="error"} 1"#))
            #expect(metrics.contains(#"stepflow_span_duration_seconds_bucket{operation="checkout",status="ok",le="0.05"} 1"#))
            // Stored and live, shown once.
            #expect(metrics.components(separatedBy: #"stepflow_span_calls_total{operation="checkout",status="ok"}"#).count == 2)

            #expect(await eventually {
                (try? await runtime.alerting.engine.getActiveAlerts(filter: nil))?.contains {
                    $0.name == "CheckoutErrors" && $0.status == .firing
                } ?? false
            })
        }
    }

    @Test("the host's series are stored: the metrics API lists them; the ingest API cannot overwrite them")
    func ownSeriesStored() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, Self.config, logger: Logger(label: "self-monitoring-tests")) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            #expect(await eventually {
                let list = (try? await httpGet(port, "/api/v1/metrics?name=stepflow_metrics_accepted_total").body) ?? ""
                return list.contains("stepflow_metrics_accepted_total")
            })
            let forged = try await httpSend(port, "POST", "/api/v1/metrics", body: """
                {"metrics": [{"name": "stepflow_metrics_accepted_total", "type": "counter", "value": 1}]}
                """)
            #expect(forged.body.contains("belongs to the host's own collectors"), "\(forged.status) \(forged.body)")

            // The spec's MonitoringMonitoring: the pipelines record into it, and so can the application.
            try await runtime.monitoring.recordExportOperation(exporter: "warehouse", count: 12, duration: .milliseconds(40))
            await #expect(throws: MonitoringError.self) {
                try await runtime.monitoring.recordLogProcessing(count: -3, duration: .zero)
            }
            #expect(await eventually { runtime.monitoring.operations.totals(of: .metricCollection).operations >= 2 })
            let own = try await runtime.monitoring.getMetrics(filter: MetricFilter(name: "stepflow_operation_items_total"))
            #expect(own.contains { $0.labels.contains(Label("exporter", "warehouse")) && $0.value == .counter(12) })
            let process = try await runtime.monitoring.getMetrics(filter: MetricFilter(namePrefix: "process_"))
            #expect(process.contains { $0.name == "process_resident_memory_bytes" })
            let totals = runtime.monitoring.metrics()
            #expect(totals.totalMetricsCollected > 0)
            #expect(totals.averageExportTime == .milliseconds(40))
            #expect(totals.storageUsage > 0)
        }
    }
}
