import Foundation
import StepflowCore
import StepflowMetrics
import StepflowScheduling

/// Scans the process groups on `profiler.scan_interval` and records their series (`stepflow_process_group_*`),
/// the scan on a thread of its own: it reads thousands of `/proc` files, which must not hold a thread of the Swift
/// cooperative pool.
public struct ProcessGroupJob: ScheduledJob {
    public let name = "profiler:processes"
    public let kind = "builtin"
    private let scanner: ProcessGroupScanner
    private let engine: MetricsEngine

    public init(scanner: ProcessGroupScanner, engine: MetricsEngine) {
        self.scanner = scanner
        self.engine = engine
    }

    public func run() async throws {
        let scanner = self.scanner
        let totals = await withCheckedContinuation { (continuation: CheckedContinuation<[ProcessGroupScanner.GroupTotals], Never>) in
            Thread.detachNewThread { continuation.resume(returning: scanner.scan()) }
        }
        let now = Date()
        try await engine.recordMetrics(totals.flatMap { $0.metrics(at: now) }, from: .host)
    }
}
