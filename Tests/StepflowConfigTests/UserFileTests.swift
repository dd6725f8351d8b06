import Foundation
import StepflowConfig
import StepflowCore
import Testing

@Suite("Loading a user's configuration file")
struct UserFileTests {
    @Test("keys in the file override the defaults and every other key keeps its default")
    func overridesAFewKeys() throws {
        let file = try TemporaryFile(contents: """
            metrics:
              collection_interval: 10s
              max_metrics_per_batch: 250
            tracing:
              sampling_rate: 0.5
            http:
              port: 9100
            exporters:
              prometheus:
                enabled: true
            plugins:
              - path: plugins/libCustom.so
                settings:
                  depth: 3
                  ratio: 0.25
                  tags: [a, b]
                  nested: {on: true, none: ~}
            """)
        defer { file.remove() }

        let loaded = try ConfigurationLoader.load(path: file.path, environment: [:])

        var expected = MonitoringConfiguration.default
        expected.metrics.collectionInterval = .seconds(10)
        expected.metrics.maxMetricsPerBatch = 250
        expected.tracing.samplingRate = 0.5
        expected.http.port = 9100
        expected.exporters.prometheus.enabled = true
        expected.plugins = [PluginConfig(path: "plugins/libCustom.so", settings: [
            "depth": .int(3),
            "ratio": .double(0.25),
            "tags": .array([.string("a"), .string("b")]),
            "nested": .object(["on": .bool(true), "none": .null]),
        ])]
        #expect(loaded.configuration == expected)
        #expect(loaded.source == file.path)
        #expect(loaded.baseDirectory == file.directory.standardizedFileURL.path)
    }

    @Test("an empty file means every default and no plugins")
    func emptyFileIsAllDefaults() throws {
        let file = try TemporaryFile(contents: "")
        defer { file.remove() }
        #expect(try ConfigurationLoader.load(path: file.path, environment: [:]).configuration == .default)
    }

    @Test("a file of only comments, or sections left empty, means every default")
    func commentsAndEmptySectionsAreDefaults() throws {
        let yaml = """
            # nothing to change yet
            metrics:
            plugins:
            """
        #expect(try ConfigurationLoader.parse(yaml: yaml, file: "c.yaml", environment: [:]) == .default)
    }

    @Test("a file that does not exist is one issue naming the path")
    func missingFile() {
        let path = "/nonexistent/stepflow-\(UUID().uuidString).yaml"
        #expect {
            try ConfigurationLoader.load(path: path, environment: [:])
        } throws: { error in
            guard let error = error as? ConfigurationError, error.issues.count == 1 else { return false }
            return error.description.hasPrefix(path + ": ") && error.description.contains("no such file")
        }
    }

    @Test("environment variables apply on top of the file")
    func environmentWinsOverFile() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: "http:\n  port: 9000\n", file: "c.yaml",
            environment: ["STEPFLOW_MONITORING_HEALTH_CHECK_HTTP_PORT": "9999", "PATH": "/usr/bin"])
        #expect(configuration.http.port == 9999)
    }
}
