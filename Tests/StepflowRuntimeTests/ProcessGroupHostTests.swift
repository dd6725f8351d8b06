import Foundation
import Logging
import StepflowRuntime
import StepflowTestSupport
import Testing

@Suite("The profiler's process groups in a running host")
struct ProcessGroupHostTests {
    @Test("a configured group is scanned on its interval, shown on /metrics (with proportional memory) and in the metrics API")
    func groupsOnMetrics() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let marker = String(Int.random(in: 1_000_000..<9_000_000))
        let sleeper = try ChildProcess.start("/bin/sleep", [marker])
        // SIGKILL: the test process blocks SIGTERM, and a child inherits that.
        defer { kill(sleeper.processIdentifier, SIGKILL) }
        try await withHost(directory, """
            http:
              port: 0
            profiler:
              scan_interval: 1s
              proportional_memory: true
              processes:
                - name: sleeper
                  match: {comm: sleep, cmdline: "/bin/sleep \(marker)"}
            """, logger: Logger(label: "profiler-host-tests")) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            #expect(await eventually {
                let body = (try? await httpGet(port, "/metrics").body) ?? ""
                return body.contains(#"stepflow_process_group_processes{group="sleeper"} 1"#)
            })
            let body = try await httpGet(port, "/metrics").body
            #expect(body.contains(#"stepflow_process_group_cpu_seconds_total{group="sleeper",mode="user"}"#))
            #expect(body.contains(#"stepflow_process_group_memory_bytes{group="sleeper",memtype="resident"}"#))
            // profiler.proportional_memory: the members' smaps_rollup Pss too, as process-exporter's -gather-smaps.
            #expect(body.contains(#"stepflow_process_group_memory_bytes{group="sleeper",memtype="proportionalResident"}"#))
            #expect(runtime.scheduler.status(of: "profiler:processes")?.runs ?? 0 >= 1)
            // Recorded through the metrics engine like any series: the metrics API lists it.
            #expect(await eventually {
                let list = (try? await httpGet(port, "/api/v1/metrics?name=stepflow_process_group_processes").body) ?? ""
                return list.contains("sleeper")
            })
        }
    }
}
