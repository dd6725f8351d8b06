import Foundation
import Logging
import StepflowCore
import StepflowRuntime
import StepflowTracing
import StepflowTestSupport
import Testing
import Tracing

@Suite("The profiling API, GET /api/v1/profile and stepflow-monitor top")
struct ProfileAPITests {
    private let logger = Logger(label: "profile-api-tests")

    @Test("runtime.profiler.measure times sync and async blocks; inside a span it adds an event")
    func measure() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, "http:\n  port: 0\ntracing:\n  enable_sampling: false\nplugins: []\n", logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let sum = runtime.profiler.measure("sum") { (1...10_000).reduce(0, +) }
            #expect(sum == 50_005_000)
            struct Refused: Error {}
            #expect(throws: Refused.self) { try runtime.profiler.measure("refuse") { throw Refused() } }
            let traceID = await runtime.tracer.withSpan("handle request") { span -> String in
                await runtime.profiler.measure("load") {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return span.context.stepflowSpanContext?.traceID.description ?? ""
            }
            let load = try #require(runtime.profiler.totals(of: "load"))
            #expect(load.count == 1 && load.seconds >= 0.02)
            #expect(runtime.profiler.totals(of: "sum")?.count == 1)

            let metrics = try await httpGet(port, "/metrics").body
            #expect(metrics.contains(#"stepflow_profile_duration_seconds_count{name="load"} 1"#))
            #expect(metrics.contains(#"stepflow_profile_errors_total{name="refuse"} 1"#))
            // The span carries the block as an event, with its duration.
            #expect(try await eventually { try await httpGet(port, "/api/v1/traces/\(traceID)").status == 200 })
            let trace = try jsonObject(try await httpGet(port, "/api/v1/traces/\(traceID)").body)
            let events = (trace["spans"] as? [[String: Any]])?.first?["events"] as? [[String: Any]] ?? []
            let event = try #require(events.first { $0["name"] as? String == "load" }, "\(trace)")
            let attributes = event["attributes"] as? [String: Any] ?? [:]
            #expect(((attributes["stepflow.profile.duration_seconds"] as? NSNumber)?.doubleValue ?? 0) >= 0.02, "\(event)")
        }
    }

    @Test("GET /api/v1/profile: threads, jobs by CPU, the memory split, queues and process groups")
    func profile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await withHost(directory, """
            http:
              port: 0
            profiler:
              scan_interval: 200ms
              processes:
                - name: tests
                  match: {comm: ".*"}
            plugins: []
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            #expect(await eventually {
                runtime.scheduler.status(of: "profiler:processes")?.runs ?? 0 >= 1 && runtime.metrics.engine.seriesCount > 0
            })
            let answer = try await httpGet(port, "/api/v1/profile")
            #expect(answer.status == 200)
            let profile = try jsonObject(answer.body)
            let threads = try #require(profile["threads"] as? [[String: Any]])
            #expect(threads.count >= 2)
            #expect(threads.allSatisfy { ($0["name"] as? String)?.isEmpty == false && $0["cpu_seconds"] is NSNumber })
            let jobs = try #require(profile["jobs"] as? [[String: Any]])
            #expect(jobs.contains { $0["job"] as? String == "process" && $0["kind"] as? String == "builtin" })
            #expect(jobs.contains { $0["job"] as? String == "profiler:usage" })
            let memory = try #require(profile["memory"] as? [String: Any])
            for key in ["resident_bytes", "anonymous_bytes", "file_bytes", "sqlite_bytes", "series_bytes"] {
                #expect(((memory[key] as? NSNumber)?.int64Value ?? 0) > 0, "memory.\(key)")
            }
            let queues = try #require(profile["queues"] as? [[String: Any]])
            #expect(Set(queues.compactMap { $0["queue"] as? String }) == ["metrics", "logs", "spans"])
            let groups = try #require(profile["process_groups"] as? [[String: Any]])
            #expect(((groups.first?["processes"] as? NSNumber)?.intValue ?? 0) >= 1)
        }
    }

    @Test("stepflow-monitor top under tmux: a view of plugins and jobs that refreshes; plain lines off a terminal",
          .enabled(if: ExternalTool.runnable("tmux")))
    func topUnderTmux() async throws {
        let tmux = try #require(ExternalTool.path("tmux"), "\(ExternalTool.missing("tmux", package: "tmux"))")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let executable = buildProductsDirectory + "/stepflow-monitor"
        try await withHost(directory, """
            http:
              port: 0
            plugins:
              - name: filesystem
                path: \(buildProductsDirectory)/libStepflowFilesystemCollector.so
                interval: 200ms
            """, logger: logger) { runtime in
            let port = await runtime.boundAddress.waitForPort()
            let url = "http://127.0.0.1:\(port)"

            // Off a terminal: plain lines, one block per refresh.
            let plain = try await runProcess(executable, ["top", "--url", url, "-n", "2", "-d", "0.2"])
            #expect(plain.status == 0, "\(plain.output)")
            #expect(plain.output.components(separatedBy: "stepflow-monitor top").count == 3, "\(plain.output)")
            #expect(!plain.output.contains("\u{1B}["), "escape codes off a terminal")
            #expect(plain.output.contains("JOBS BY CPU") && plain.output.contains("filesystem"))

            // On a terminal (a tmux pane, on a server of its own): redrawn in place every second.
            let socket = "stepflow-top-\(UInt32.random(in: 0..<UInt32.max))"
            let session = "top"
            // The tmux server in the foreground (-D), a child of this test like any server it starts: a daemonized
            // one would keep the child-watching sockets of processes other tests start meanwhile, and their
            // waits would never end. The pane runs `top` on a terminal of its own.
            let server = try ChildProcess.start(tmux, ["-L", socket, "-D"])
            let socketPath = (ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp") + "/tmux-\(getuid())/\(socket)"
            defer {
                _ = try? ChildProcess.run(tmux, ["-L", socket, "kill-server"])
                kill(server.processIdentifier, SIGKILL)  // the test process blocks SIGTERM, and a child inherits that
                server.waitUntilExit()
                try? FileManager.default.removeItem(atPath: socketPath)
            }
            // A client finding no server would start a daemon of its own: wait until this one listens.
            #expect(await eventually { FileManager.default.fileExists(atPath: socketPath) })
            let created = try await runProcess(tmux, [
                "-L", socket, "new-session", "-d", "-s", session, "-x", "160", "-y", "60", "\(executable) top --url \(url)",
            ])
            #expect(created.status == 0, "\(created.output)")
            func pane() async -> String {
                (try? await runProcess(tmux, ["-L", socket, "capture-pane", "-p", "-t", session]).output) ?? ""
            }
            #expect(await eventually { let text = await pane(); return text.contains("PLUGINS BY CPU") && text.contains("filesystem") })
            let first = await pane()
            #expect(first.contains("JOBS BY CPU") && first.contains("QUEUE") && first.contains("THREADS BY CPU"), "\(first)")
            // One view on the screen, not one per refresh below each other.
            #expect(first.components(separatedBy: "stepflow-monitor top").count == 2, "\(first)")
            let header = first.split(separator: "\n").first.map(String.init) ?? ""
            // The header holds the time to the second: a refresh changes it.
            #expect(await eventually { (await pane()).split(separator: "\n").first.map(String.init) != header })
        }
    }
}
