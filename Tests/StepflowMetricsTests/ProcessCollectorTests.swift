import Foundation
import StepflowCore
import StepflowMetrics
import Testing

@Suite("The process collector")
struct ProcessCollectorTests {
    @Test("reads this process' CPU, memory, fds and threads under Prometheus process_* names")
    func readsProc() throws {
        let metrics = try ProcessCollector().collect()
        let byName = Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, $0.value) })
        guard case .gauge(let rss) = byName["process_resident_memory_bytes"] else { Issue.record("no rss"); return }
        #expect(rss > 1_000_000)
        guard case .counter(let cpu) = byName["process_cpu_seconds_total"] else { Issue.record("no cpu"); return }
        #expect(cpu > 0)
        guard case .gauge(let fds) = byName["process_open_fds"] else { Issue.record("no fds"); return }
        #expect(fds >= 3)
        guard case .gauge(let threads) = byName["process_threads"] else { Issue.record("no threads"); return }
        #expect(threads >= 1)
        guard case .gauge(let start) = byName["process_start_time_seconds"] else { Issue.record("no start"); return }
        #expect(abs(start - Date().timeIntervalSince1970) < 24 * 3600)
    }
}
