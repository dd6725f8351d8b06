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

    @Test("match by exe, user and cgroup, each also refusing a process that does not fit; track_children counts a member's children")
    func matchKeys() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Distinct sleep durations (a valid argument, unlike a name) tell the processes apart.
        let base = Int.random(in: 1_000_000..<9_000_000)
        let marker = ["exe": base, "user": base + 1, "cgroup": base + 2, "kids": base + 3, "alone": base + 4]
        var children: [Process] = []
        // SIGKILL: the test process blocks SIGTERM, and a child inherits that.
        defer { for child in children { kill(child.processIdentifier, SIGKILL) } }
        for tag in ["exe", "user", "cgroup"] { children.append(try ChildProcess.start("/bin/sleep", ["\(marker[tag]!)"])) }
        // A shell that waits for its child: `sleep` runs as a separate process beside `sh`.
        for tag in ["kids", "alone"] { children.append(try ChildProcess.start("/bin/sh", ["-c", "/bin/sleep \(marker[tag]!); true"])) }
        let cgroup = ((try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? "")
            .split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) } ?? "/"
        try await withHost(directory, """
            http:
              port: 0
            profiler:
              scan_interval: 500ms
              processes:
                - {name: wrong-exe, match: {exe: ".*/bash", cmdline: "/bin/sleep \(marker["exe"]!)"}}
                - {name: by-exe, match: {exe: ".*/sleep", cmdline: "/bin/sleep \(marker["exe"]!)"}}
                - {name: wrong-user, match: {user: "\(getuid() == 0 ? 65534 : 0)", cmdline: "/bin/sleep \(marker["user"]!)"}}
                - {name: by-user, match: {user: "\(getuid())", cmdline: "/bin/sleep \(marker["user"]!)"}}
                - {name: wrong-cgroup, match: {cgroup: "/no-such-cgroup", cmdline: "/bin/sleep \(marker["cgroup"]!)"}}
                - {name: by-cgroup, match: {cgroup: "\(cgroup)", cmdline: "/bin/sleep \(marker["cgroup"]!)"}}
                - {name: with-children, match: {comm: sh, cmdline: ".*sleep \(marker["kids"]!);.*"}, track_children: true}
                - {name: without-children, match: {comm: sh, cmdline: ".*sleep \(marker["alone"]!);.*"}}
            """, logger: Logger(label: "profiler-host-tests")) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            func processes(_ group: String) async -> String? {
                let body = (try? await httpGet(port, "/metrics").body) ?? ""
                let prefix = #"stepflow_process_group_processes{group="\#(group)"} "#
                return body.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            }
            let expected = ["by-exe": "1", "by-user": "1", "by-cgroup": "1", "with-children": "2", "without-children": "1"]
            var seen: [String: String] = [:]
            #expect(await eventually(30) {
                for group in expected.keys { seen[group] = await processes(group) }
                return seen == expected
            }, "\(seen)")
            for group in ["wrong-exe", "wrong-user", "wrong-cgroup"] {
                let count = await processes(group)
                #expect(count == nil || count == "0", "\(group): \(count ?? "none")")
            }
        }
    }
}

