import Foundation
import Logging
import StepflowConfig
import StepflowCore
import StepflowRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 11's faults of a bad day in production, reproduced with real host processes: a second host on one
/// database, a crash.
@Suite("Host faults", .serialized)
struct HostFaultTests {
    let executable = buildProductsDirectory + "/stepflow-monitor"

    @Test("a second host on the same database is refused, naming the first one's PID; read-only commands still work")
    func secondHostRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("monitoring.sqlite")
        let config = try directory.write("config.yaml", """
            storage:
              path: \(database)
            http:
              port: 0
            plugins: []
            """)
        let first = try HostProcess(configPath: config)
        defer { withExtendedLifetime(first) {} }
        #expect(await eventually { first.log.text.contains("HTTP API listening") })
        let second = try runProcess(executable, ["run", "--config", config])
        #expect(second.status == 1, "\(second.output)")
        #expect(second.output.contains("another stepflow-monitor (PID \(first.process.processIdentifier)) is using the database"),
                "\(second.output)")
        let list = try runProcess(executable, ["metrics", "list", "--database", database])
        #expect(list.status == 0, "\(list.output)")
        first.process.terminate()
        first.process.waitUntilExit()
        // The lock went with the first host: a new one starts.
        let third = try HostProcess(configPath: config)
        defer { withExtendedLifetime(third) {} }
        #expect(await eventually { third.log.text.contains("HTTP API listening") }, "\(third.log.text)")
    }

    @Test("in one process, a second runtime on the same database is refused until the first has stopped")
    func secondRuntimeRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", """
            storage:
              path: \(directory.file("monitoring.sqlite"))
            http:
              enabled: false
            plugins: []
            """)
        let logger = Logger(label: "host-fault-tests")
        let loaded = try ConfigurationLoader.load(path: path, environment: [:])
        let first = try await MonitoringRuntime(loaded: loaded, logger: logger)
        let refused = try await whileRunning(first, logger: logger) { () async -> String? in
            do {
                _ = try await MonitoringRuntime(loaded: loaded, logger: logger)
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(refused?.contains("another stepflow-monitor (PID \(getpid()))") == true, "\(String(describing: refused))")
        _ = try await MonitoringRuntime(loaded: loaded, logger: logger)
    }
}
