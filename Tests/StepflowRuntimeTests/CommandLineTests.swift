import Foundation
import StepflowTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("The stepflow-monitor command", .serialized)
struct CommandLineTests {
    let executable = buildProductsDirectory + "/stepflow-monitor"

    @Test("check-config prints the effective configuration, with environment overrides, and exits 0")
    func checkConfigValid() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["STEPFLOW_MONITORING_METRICS_RETENTION_DAYS"] = "12"
        let result = try await runProcess(executable, ["check-config"], environment: environment)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("retention_days: 12"))
        #expect(result.output.contains("libStepflowSystemCollector.so"))
    }

    @Test("check-config lists the active exporters and warns of an exporter whose pipeline does not export")
    func checkConfigExporters() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("exporters.yaml", """
            plugins: []
            tracing: {enable_export: true, export_interval: 30s}
            exporters:
              prometheus: {enabled: true}
              otlp: {enabled: true, endpoint: "http://collector:4318"}
            """)
        let result = try await runProcess(executable, ["check-config", "--config", path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("#   exporter:otlp:traces every 30.0s -> http://collector:4318/v1/traces"), "\(result.output)")
        #expect(!result.output.contains("exporter:prometheus:metrics"))
        #expect(result.output.contains(
            "warning: exporters.prometheus.enabled is true but metrics.enable_export is false: nothing is remote-written"))
    }

    @Test("check-config names the file, line and key of each error and exits non-zero")
    func checkConfigInvalid() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("bad.yaml", """
            metrics:
              collection_interval: 30s
              retention_dayz: 3
            tracing:
              sampling_rate: 1.5
            """)
        let result = try await runProcess(executable, ["check-config", "--config", path])
        #expect(result.status != 0)
        #expect(result.output.contains("bad.yaml:3"))
        #expect(result.output.contains("metrics.retention_dayz"))
        #expect(result.output.contains("retention_days"))
        #expect(result.output.contains("bad.yaml:5"))
        #expect(result.output.contains("tracing.sampling_rate"))
    }

    @Test("plugins inspect prints an example plugin's descriptor")
    func inspectPlugin() async throws {
        let result = try await runProcess(executable, ["plugins", "inspect", buildProductsDirectory + "/libStepflowFilesystemCollector.so"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("filesystem"))
        let missing = try await runProcess(executable, ["plugins", "inspect", "/nonexistent/libnothing.so"])
        #expect(missing.status != 0)
        #expect(missing.output.contains("/nonexistent/libnothing.so"))
    }

    @Test("plugins inspect shows a log exporter's formats and a notifier's channels")
    func inspectExporterAndNotifier() async throws {
        let exporter = try await runProcess(executable, ["plugins", "inspect", buildProductsDirectory + "/libStepflowFileLogExporter.so"])
        #expect(exporter.status == 0, "\(exporter.output)")
        #expect(exporter.output.contains("capabilities:      log_exporter"))
        #expect(exporter.output.contains("supported formats: ndjson"))
        let notifier = try await runProcess(executable, ["plugins", "inspect", buildProductsDirectory + "/libStepflowFileNotifier.so"])
        #expect(notifier.status == 0, "\(notifier.output)")
        #expect(notifier.output.contains("capabilities:      alert_notifier"))
        #expect(notifier.output.contains("supported channels: file"))
    }

    @Test("run on a port already in use says so, names the setting to change, and exits non-zero")
    func portInUse() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try HostProcess(configPath: try directory.write("first.yaml", testConfigYAML(directory: directory)))
        defer { withExtendedLifetime(first) {} }
        #expect(await eventually { first.log.text.contains("HTTP API listening") })
        let port = try #require(first.log.listeningPort)
        let second = try await runProcess(executable, ["run", "--config", try directory.write("second.yaml", """
            storage:
              path: \(directory.file("second.sqlite"))
            http:
              port: \(port)
            """)])
        #expect(second.status == 1)
        #expect(second.output.contains("cannot listen on 127.0.0.1:\(port): the address is already in use"))
        #expect(second.output.contains("STEPFLOW_MONITORING_HEALTH_CHECK_HTTP_PORT"))
    }

    @Test("run serves until SIGTERM, then flushes and exits 0")
    func runAndTerminate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("config.yaml", testConfigYAML(directory: directory))
        let host = try HostProcess(configPath: path)
        defer { withExtendedLifetime(host) {} }
        let log = host.log
        let process = host.process

        #expect(await eventually { log.text.contains("HTTP API listening") })
        #expect(log.text.contains("plugin loaded"))
        let port = try #require(log.listeningPort)
        #expect(try await eventually { try await httpGet(port, "/metrics").body.contains("node_load1 ") })

        let list = try await runProcess(executable, ["plugins", "list", "--url", "http://127.0.0.1:\(port)"])
        #expect(list.status == 0, "\(list.output)")
        let lines = list.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("NAME") == true)
        let filesystem = try #require(lines.first { $0.hasPrefix("filesystem ") })
        #expect(filesystem.contains("in-process"))
        #expect(filesystem.contains("1s"))
        #expect(filesystem.contains("libStepflowFilesystemCollector.so"))
        let unreachable = try await runProcess(executable, ["plugins", "list", "--url", "http://127.0.0.1:1"])
        #expect(unreachable.status != 0)
        #expect(unreachable.output.contains("cannot reach the host"))

        kill(process.processIdentifier, SIGTERM)
        #expect(await eventually { !process.isRunning })
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log.text)")
        #expect(log.text.contains("metrics writer stopped"))
    }
}
