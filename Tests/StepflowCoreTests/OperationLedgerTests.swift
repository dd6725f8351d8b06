import Foundation
import StepflowCore
import Testing

@Suite("The self-monitoring ledger")
struct OperationLedgerTests {
    @Test("operations, items and durations add up per kind and exporter; bad input is refused and not counted")
    func totals() throws {
        let ledger = OperationLedger()
        try ledger.record(.metricCollection, count: 10, duration: .milliseconds(2))
        try ledger.record(.metricCollection, count: 30, duration: .milliseconds(4))
        try ledger.record(.export, exporter: "es", count: 5, duration: .seconds(2))
        #expect(throws: MonitoringError.self) { try ledger.record(.logProcessing, count: -1, duration: .zero) }
        #expect(throws: MonitoringError.self) { try ledger.record(.logProcessing, count: 1, duration: .seconds(-1)) }
        #expect(throws: MonitoringError.self) {
            try ledger.record(.export, exporter: String(repeating: "e", count: 65), count: 1, duration: .zero)
        }
        let collections = ledger.totals(of: .metricCollection)
        #expect(collections.operations == 2 && collections.items == 40)
        #expect(collections.averageDuration == .milliseconds(3))
        #expect(ledger.totals(of: .logProcessing).operations == 0)

        let series = ledger.series(at: Date())
        let exported = series.first {
            $0.name == "stepflow_operation_items_total" && $0.labels.contains(Label("exporter", "es"))
        }
        #expect(exported?.value == .counter(5))
        guard case .histogram(let durations)? = series.first(where: {
            $0.name == "stepflow_operation_duration_seconds" && $0.labels == [Label("operation", "metric_collection")]
        })?.value else {
            Issue.record("no duration histogram")
            return
        }
        #expect(durations.count == 2)
        #expect(durations.buckets.first { $0.upperBound == 0.005 }?.count == 2)
    }

    @Test("items saturate instead of overflowing; exporters past the cap count as other")
    func limits() throws {
        let ledger = OperationLedger()
        try ledger.record(.logProcessing, count: .max, duration: .zero)
        try ledger.record(.logProcessing, count: .max, duration: .zero)
        try ledger.record(.logProcessing, count: .max, duration: .zero)
        #expect(ledger.totals(of: .logProcessing).items == .max)
        for index in 0..<(OperationLedger.maxExporters + 3) {
            try ledger.record(.export, exporter: "exporter\(index)", count: 1, duration: .zero)
        }
        let exporters = Set(ledger.snapshot.filter { $0.key.operation == .export }.map(\.key.exporter))
        #expect(exporters.count == OperationLedger.maxExporters + 1)
        #expect(exporters.contains("other"))
        #expect(ledger.snapshot.first { $0.key.exporter == "other" }?.totals.operations == 3)
    }
}
