import Foundation
import Logging
import StepflowConfig
import StepflowCore
import StepflowRuntime
import StepflowTestSupport
import Testing

/// Issue 12, points 4, 7 and 9, with real plugins (the `series_emitter.c` fixture) in both isolation modes: series
/// leave when their plugin is removed or stops reporting them, a series belongs to the plugin that created it, and
/// every refusal is counted against the plugin that caused it and logged once, then as a count.
@Suite("Series ownership and expiry", .serialized)
struct SeriesOwnershipTests {
    /// What the in-process host logged, for the tests that count log lines.
    let logger: Logger
    let log: CapturingLogHandler.Store

    init() {
        var (logger, log) = CapturingLogHandler.logger()
        logger.logLevel = .info
        (self.logger, self.log) = (logger, log)
    }

    /// Builds the fixture into `directory` and returns its path.
    static func buildEmitter(in directory: TemporaryDirectory) throws -> String {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/series_emitter.c").path
        let library = directory.file("libseries.so")
        try compileCPlugin(source, to: library)
        return library
    }

    /// A configuration with `metrics` lines under `metrics:` and the given plugin entries.
    static func config(_ directory: TemporaryDirectory, metrics: String = "", plugins: String) -> String {
        """
        storage:
          path: \(directory.file("monitoring.sqlite"))
        http:
          port: 0
        scheduler:
          jitter: 0
        metrics:
          collection_interval: 1h
        \(metrics)
        plugins:
        \(plugins)
        """
    }

    /// One `plugins:` entry of the fixture.
    static func entry(
        _ name: String, library: String, isolation: String, settings: String = "{}", extra: String = ""
    ) -> String {
        """
          - name: \(name)
            path: \(library)
            interval: 100ms
            isolation: \(isolation)
            settings: \(settings)
        \(extra)
        """
    }

    func run(
        _ yaml: String, in directory: TemporaryDirectory,
        _ body: (_ runtime: MonitoringRuntime, _ port: Int, _ path: String) async throws -> Void
    ) async throws {
        let path = try directory.write("config.yaml", yaml)
        let runtime = try await MonitoringRuntime(
            loaded: ConfigurationLoader.load(path: path, environment: [:]), logger: logger,
            pluginRunner: buildProductsDirectory + "/stepflow-monitor")
        try await whileRunning(runtime, logger: logger) {
            try await body(runtime, await runtime.boundAddress.waitForPort(), path)
        }
    }

    /// The value of the first `/metrics` line that starts with `prefix`.
    static func scraped(_ port: Int, _ prefix: String) async -> Double? {
        let body = (try? await httpGet(port, "/metrics").body) ?? ""
        let line = body.split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("a plugin removed by a reload takes its series off /metrics at once", arguments: ["in-process", "process"])
    func removedPluginSeriesLeave(isolation: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let library = try Self.buildEmitter(in: directory)
        let both = Self.entry("keep", library: library, isolation: isolation, settings: "{metric: kept_value}")
            + "\n" + Self.entry("gone", library: library, isolation: isolation, settings: "{metric: gone_value}")
        try await run(Self.config(directory, plugins: both), in: directory) { runtime, port, path in
            #expect(await eventually {
                let gone = await Self.scraped(port, "gone_value")
                let kept = await Self.scraped(port, "kept_value")
                return gone != nil && kept != nil
            })
            _ = try directory.write("config.yaml", Self.config(directory, plugins: Self.entry(
                "keep", library: library, isolation: isolation, settings: "{metric: kept_value}")))
            let report = await runtime.reload()
            #expect(report.removed == ["gone"], "\(report)")
            // At once: the reload has returned, so the very next scrape must not show it.
            let body = try await httpGet(port, "/metrics").body
            #expect(!body.contains("gone_value"), "\(body)")
            #expect(body.contains("kept_value"))
            #expect(body.contains(#"stepflow_metrics_series_expired_total{reason="source_removed"} 1"#))
            #expect(try await runtime.metrics.engine.getMetric("gone_value", labels: []) == nil)
        }
    }

    @Test("a series its plugin stops reporting leaves after stale_after; stored history stays", arguments: ["in-process", "process"])
    func staleSeriesExpire(isolation: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let library = try Self.buildEmitter(in: directory)
        // The label epoch changes every 5 collections (500 ms); each epoch's series goes stale 300 ms later.
        let plugin = Self.entry(
            "flapping", library: library, isolation: isolation, settings: "{epoch_every: \"5\"}",
            extra: "    stale_after: 300ms")
        let yaml = Self.config(directory, metrics: "  series_expiry: 1s\n  flush_interval: 100ms", plugins: plugin)
        try await run(yaml, in: directory) { runtime, port, _ in
            #expect(await eventually { await Self.scraped(port, #"fixture_value{epoch="2"}"#) != nil })
            #expect(await eventually {
                (await Self.scraped(port, #"stepflow_metrics_series_expired_total{reason="stale"}"#) ?? 0) >= 1
            })
            let body = try await httpGet(port, "/metrics").body
            #expect(!body.contains(#"fixture_value{epoch="0"}"#), "\(body)")
            #expect(try await runtime.metrics.engine.getMetric("fixture_value", labels: [Label("epoch", "0")]) == nil)
            // The plugin's series gauge counts what it owns now, not every series it ever made.
            let owned = try #require(await Self.scraped(port, #"stepflow_plugin_series{isolation=""#))
            #expect(owned <= 2, "\(owned)")
            // History stays in the database.
            let epoch0 = try await httpGet(port, "/api/v1/metrics/query?match=fixture_value%7Bepoch%3D%220%22%7D")
            #expect(epoch0.status == 200 && epoch0.body.contains(#""kind":"raw""#), "\(epoch0.body.prefix(400))")
        }
    }

    @Test("a series belongs to the plugin that created it; labels: lets two instances run side by side", arguments: ["in-process", "process"])
    func ownership(isolation: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let library = try Self.buildEmitter(in: directory)
        let clash = Self.entry("first", library: library, isolation: isolation)
            + "\n" + Self.entry("second", library: library, isolation: isolation)
        try await run(Self.config(directory, plugins: clash), in: directory) { runtime, port, path in
            #expect(await eventually {
                let prefix = "stepflow_plugin_refused_samples_total{plugin="
                let second = await Self.scraped(port, prefix + #""second",reason="owned_by_other_source"}"#) ?? 0
                let first = await Self.scraped(port, prefix + #""first",reason="owned_by_other_source"}"#) ?? 0
                return first + second >= 3
            })
            let plugins = try await httpGet(port, "/api/v1/plugins").body
            #expect(plugins.contains(#""refused_samples""#))
            let firsts = log.all.filter { $0.message == "samples refused" }.map { "\($0.metadata["first"] ?? "")" }
            #expect(firsts.contains { $0.contains("belongs to plugin '") }, "\(firsts)")

            let sideBySide = Self.entry("first", library: library, isolation: isolation, extra: "    labels: {instance: a}")
                + "\n" + Self.entry("second", library: library, isolation: isolation, extra: "    labels: {instance: b}")
            _ = try directory.write("config.yaml", Self.config(directory, plugins: sideBySide))
            let report = await runtime.reload()
            #expect(Set(report.restarted) == ["first", "second"], "\(report)")
            #expect(await eventually {
                let a = await Self.scraped(port, #"fixture_value{instance="a"}"#)
                let b = await Self.scraped(port, #"fixture_value{instance="b"}"#)
                return a != nil && b != nil
            })
            // Their labels changed, so the old unlabelled series left with the restart.
            #expect(try await runtime.metrics.engine.getMetric("fixture_value", labels: []) == nil)
        }
    }

    @Test("refusals under metrics.* limits count against the plugin, and the warning is logged once, not per collection", arguments: ["in-process", "process"])
    func limitRefusalsAttributed(isolation: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let library = try Self.buildEmitter(in: directory)
        let plugin = Self.entry("wide", library: library, isolation: isolation, settings: "{labels: \"3\"}")
        let yaml = Self.config(directory, metrics: "  max_labels_per_series: 2", plugins: plugin)
        try await run(yaml, in: directory) { runtime, port, _ in
            #expect(await eventually {
                (await Self.scraped(port, #"stepflow_plugin_refused_samples_total{plugin="wide",reason="too_many_labels"}"#) ?? 0) >= 5
            })
            let plugins = try await httpGet(port, "/api/v1/plugins").body
            #expect(plugins.contains(#""series":0"#), "\(plugins)")
            #expect(!plugins.contains(#""refused_samples":0"#), "\(plugins)")
            #expect(await Self.scraped(port, #"stepflow_plugin_series{isolation=""#) == 0)
            let warnings = log.all.filter { $0.message.contains("samples refused") }
            #expect(warnings.count == 1, "\(warnings.map(\.message))")
            #expect(warnings.first?.metadata["plugin"] == "wide")
        }
    }
}
