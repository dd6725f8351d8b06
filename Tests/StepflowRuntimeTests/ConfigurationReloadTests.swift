import Foundation
import Logging
import ServiceLifecycle
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowStorage
import StepflowTestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A POST with an empty body over real HTTP on 127.0.0.1.
private func httpPost(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = "POST"
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
}

/// A test configuration with the given `plugins:` items (YAML, indented by two spaces) and `http.port`.
private func reloadConfigYAML(directory: TemporaryDirectory, port: Int = 0, plugins: String) -> String {
    """
    storage:
      path: \(directory.file("monitoring.sqlite"))
    http:
      address: 127.0.0.1
      port: \(port)
    metrics:
      collection_interval: 1s
      flush_interval: 100ms
    health:
      check_interval: 1s
    scheduler:
      jitter: 0
    plugins:
    \(plugins)
    """
}

private let systemPlugin = """
      - name: system
        path: libStepflowSystemCollector.so
        interval: 1s
        timeout: 5s
    """

private func filesystemPlugin(_ name: String, interval: String = "1s", paths: String = "/") -> String {
    """
      - name: \(name)
        path: libStepflowFilesystemCollector.so
        interval: \(interval)
        timeout: 5s
        settings:
          paths: "\(paths)"
    """
}

@Suite("Reloading the configuration", .serialized)
struct ConfigurationReloadTests {
    let logger = Logger(label: "reload-tests")

    @Test("adds, removes and restarts plugins while metrics flow, leaves unchanged ones running, and loses no sample")
    func reloadWhileMetricsFlow() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", reloadConfigYAML(
            directory: directory, plugins: systemPlugin + "\n" + filesystemPlugin("filesystem") + "\n" + filesystemPlugin("fs-old")))
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), environment: [:], logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()

        #expect(await eventually { (runtime.scheduler.status(of: "plugin:system")?.runs ?? 0) >= 2 })
        let increments = 3000
        let writer = Task {
            for index in 0..<increments {
                try await runtime.metrics.engine.incrementCounter("reload_flow_total", by: 1, labels: [Label("shard", "\(index % 5)")])
                if index % 100 == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
        }

        _ = try directory.write("config.yaml", reloadConfigYAML(
            directory: directory,
            plugins: systemPlugin + "\n" + filesystemPlugin("filesystem", interval: "2s") + "\n"
                + filesystemPlugin("fs-new", paths: directory.path)))
        let runsBefore = try #require(runtime.scheduler.status(of: "plugin:system")?.runs)
        let report = await runtime.reload()
        #expect(!report.refused)
        #expect(report.added == ["fs-new"])
        #expect(report.removed == ["fs-old"])
        #expect(report.restarted == ["filesystem"])
        #expect(report.unchanged == ["system"])
        #expect(report.restartRequired.isEmpty)
        #expect(report.errors.isEmpty, "\(report.errors)")

        let jobs = runtime.scheduler.jobNames.filter { $0.hasPrefix("plugin:") }
        #expect(jobs == ["plugin:filesystem", "plugin:fs-new", "plugin:system"])
        #expect(runtime.scheduler.status(of: "plugin:filesystem")?.schedule.interval == .seconds(2))
        #expect(runtime.plugins.map(\.name) == ["system", "filesystem", "fs-new"])
        #expect(runtime.configuration.plugins.map(\.name) == ["system", "filesystem", "fs-new"])
        // The unchanged plugin kept its job: its call counter carries on instead of starting again from zero.
        #expect((runtime.scheduler.status(of: "plugin:system")?.runs ?? 0) >= runsBefore)
        #expect(await eventually { (runtime.scheduler.status(of: "plugin:system")?.runs ?? 0) > runsBefore })
        #expect(await eventually { (runtime.scheduler.status(of: "plugin:fs-new")?.runs ?? 0) >= 1 })
        let health = await runtime.health.checkAll()
        #expect(!health.components.contains { $0.component == "plugin:fs-old" })

        // Two reloads asked for at once run one after the other; with nothing changed, both leave everything alone.
        async let first = runtime.reload()
        async let second = runtime.reload()
        for concurrent in await [first, second] {
            #expect(concurrent.unchanged.sorted() == ["filesystem", "fs-new", "system"])
            #expect(concurrent.added.isEmpty && concurrent.removed.isEmpty && concurrent.restarted.isEmpty)
            #expect(concurrent.errors.isEmpty, "\(concurrent.errors)")
        }

        try await writer.value
        await group.triggerGracefulShutdown()
        try await running
        await #expect(try MetricStore(database: runtime.storage.database).count(name: "reload_flow_total") == increments)
    }

    @Test("POST /api/v1/admin/reload refuses an invalid configuration with every issue, and keeps the running one")
    func invalidConfigurationIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", reloadConfigYAML(directory: directory, plugins: systemPlugin))
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), environment: [:], logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        let port = await runtime.boundAddress.waitForPort()
        #expect(await eventually { (runtime.scheduler.status(of: "plugin:system")?.runs ?? 0) >= 1 })
        let runsBefore = try #require(runtime.scheduler.status(of: "plugin:system")?.runs)

        _ = try directory.write("config.yaml", reloadConfigYAML(
            directory: directory,
            plugins: filesystemPlugin("filesystem") + "\n" + """
                  - name: broken
                    pathh: libStepflowFilesystemCollector.so
                """))
        let answer = try await httpPost(port, "/api/v1/admin/reload")
        #expect(answer.status == 422)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        #expect(json["status"] as? String == "refused")
        let errors = try #require(json["errors"] as? [String])
        // The unknown key is on line 21 of the rewritten file; the missing `path` is reported at the item (line 20).
        #expect(errors.contains { $0.contains("config.yaml:21") && $0.contains("plugins[1].pathh") }, "\(errors)")
        #expect(errors.contains { $0.contains("config.yaml:20") && $0.contains("plugins[1].path") }, "\(errors)")

        #expect(runtime.scheduler.jobNames.filter { $0.hasPrefix("plugin:") } == ["plugin:system"])
        #expect(runtime.plugins.map(\.name) == ["system"])
        #expect(runtime.configuration.plugins.map(\.name) == ["system"])
        #expect((runtime.scheduler.status(of: "plugin:system")?.runs ?? 0) >= runsBefore)

        await group.triggerGracefulShutdown()
        try await running
    }

    @Test("a changed http.port is reported as needing a restart and not applied; plugin changes still apply")
    func restartRequiredSettings() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", reloadConfigYAML(directory: directory, plugins: systemPlugin))
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), environment: [:], logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        let port = await runtime.boundAddress.waitForPort()

        _ = try directory.write("config.yaml", reloadConfigYAML(
            directory: directory, port: 9, plugins: systemPlugin + "\n" + """
                  - name: ghost
                    path: libDoesNotExist.so
                """))
        let answer = try await httpPost(port, "/api/v1/admin/reload")
        #expect(answer.status == 200, "\(answer.body)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        #expect(json["status"] as? String == "applied")
        #expect(json["restart_required"] as? [String] == ["http.port"])
        #expect(json["unchanged"] as? [String] == ["system"])
        #expect(json["added"] as? [String] == ["ghost"])
        let errors = try #require(json["errors"] as? [String])
        #expect(errors.count == 1 && errors[0].contains("ghost") && errors[0].contains("libDoesNotExist.so"), "\(errors)")
        #expect(runtime.configuration.http.port == 0)
        #expect(runtime.boundAddress.port == port)
        #expect(try await httpGet(port, "/health/live").status == 200)
        // The plugin that failed to start is reported as at start-up, and the rest of the reload still applied.
        let ghost = try await httpGet(port, "/health/plugin:ghost")
        #expect(ghost.status == 503)
        #expect(ghost.body.contains("not loaded"))

        // Taking the failed entry out again drops its health entry.
        _ = try directory.write("config.yaml", reloadConfigYAML(directory: directory, port: 9, plugins: systemPlugin))
        let report = await runtime.reload()
        #expect(report.removed == ["ghost"])
        #expect(report.restartRequired == ["http.port"])
        #expect(try await httpGet(port, "/health/plugin:ghost").status == 404)

        await group.triggerGracefulShutdown()
        try await running
    }

    @Test("a changed scheduler.default_timeout restarts exactly the plugins that rely on it, and needs no restart")
    func defaultTimeoutApplies() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let withoutTimeout = """
              - name: plain
                path: libStepflowFilesystemCollector.so
                interval: 1s
            """
        let path = try directory.write("config.yaml", reloadConfigYAML(
            directory: directory, plugins: systemPlugin + "\n" + withoutTimeout))
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), environment: [:], logger: logger)
        let group = ServiceGroup(services: runtime.serviceList, logger: logger)
        async let running: Void = group.run()
        #expect(runtime.scheduler.status(of: "plugin:plain")?.schedule.timeout == .seconds(10))

        let yaml = reloadConfigYAML(directory: directory, plugins: systemPlugin + "\n" + withoutTimeout)
            .replacingOccurrences(of: "scheduler:\n  jitter: 0", with: "scheduler:\n  jitter: 0\n  default_timeout: 3s")
        _ = try directory.write("config.yaml", yaml)
        let report = await runtime.reload()
        #expect(report.restarted == ["plain"])
        #expect(report.unchanged == ["system"])
        #expect(report.restartRequired.isEmpty)
        #expect(runtime.scheduler.status(of: "plugin:plain")?.schedule.timeout == .seconds(3))
        #expect(runtime.configuration.scheduler.defaultTimeout == .seconds(3))

        await group.triggerGracefulShutdown()
        try await running
    }

    @Test("stepflow-monitor reloads on SIGHUP, starts the added plugin, keeps running, and exits 0 on SIGTERM")
    func sighupReloads() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", reloadConfigYAML(directory: directory, plugins: systemPlugin))
        let host = try HostProcess(configPath: path)
        defer { withExtendedLifetime(host) {} }
        let log = host.log
        let process = host.process

        #expect(await eventually { log.text.contains("HTTP API listening") })
        #expect(log.text.contains("SIGHUP reloads the configuration"))
        let port = try #require(log.listeningPort)
        #expect(try await eventually { try await httpGet(port, "/metrics").body.contains("node_load1 ") })
        #expect(!log.text.contains("plugin=filesystem"))

        _ = try directory.write("config.yaml", reloadConfigYAML(
            directory: directory, plugins: systemPlugin + "\n" + filesystemPlugin("filesystem")))
        kill(process.processIdentifier, SIGHUP)
        #expect(await eventually { log.text.contains("configuration reloaded") })
        #expect(log.text.split(separator: "\n").contains { $0.contains("plugin loaded") && $0.contains("plugin=filesystem") })
        #expect(try await eventually { try await httpGet(port, "/metrics").body.contains("node_filesystem_size_bytes{") })
        #expect(process.isRunning)

        kill(process.processIdentifier, SIGTERM)
        #expect(await eventually { !process.isRunning })
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log.text)")
    }
}
