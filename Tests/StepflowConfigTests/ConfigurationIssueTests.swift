import StepflowConfig
import StepflowCore
import Testing

@Suite("Issues in a configuration file name the file, line, column and key path")
struct ConfigurationIssueTests {
    @Test("a YAML syntax error gives its position and quotes only the offending line")
    func syntaxError() throws {
        let issues = parseIssues("""
            metrics:
              collection_interval: 10s
                retention_days: 3
            """, file: "my.yaml")
        let issue = try #require(issues.first)
        #expect(issues.count == 1)
        #expect(issue.description.hasPrefix("my.yaml:3:"))
        #expect(issue.description.contains("syntax error: mapping values are not allowed in this context"))
        #expect(issue.line == 3 && issue.column == 19)
        #expect(issue.excerpt == "    retention_days: 3\n                  ^")
    }

    @Test("a syntax error deep in a large document does not quote the document")
    func deepSyntaxErrorIsTrimmed() throws {
        let depth = 400
        var yaml = ""
        for level in 0..<depth {
            yaml += String(repeating: " ", count: level) + "k\(level):\n"
        }
        yaml += String(repeating: " ", count: depth) + "x: [unclosed\n"
        let issue = try #require(parseIssues(yaml).first)
        #expect(issue.line != nil)
        let error = ConfigurationError(issues: [issue])
        #expect(error.detailedDescription.count < 600)
        #expect(!error.description.contains("k1:"))
    }

    @Test("a string where an integer, boolean or duration belongs is a type error at the value")
    func wrongScalarTypes() {
        let issues = parseIssues("""
            metrics:
              max_metrics_per_batch: lots
              enable_export: "true"
              collection_interval: soon
            """)
        #expect(issues.map(\.description) == [
            "config.yaml:2:26: metrics.max_metrics_per_batch: expected an integer, found the text 'lots'",
            "config.yaml:3:18: metrics.enable_export: expected true or false, found the text 'true'",
            "config.yaml:4:24: metrics.collection_interval: expected a duration such as 500ms, 30s, 5m, 1h, 1h30m, "
                + "or a number of seconds, found the text 'soon'",
        ])
    }

    @Test("a mapping where the plugin list belongs is a type error")
    func mappingInsteadOfList() {
        let issues = parseIssues("""
            plugins:
              name: system
              path: libStepflowSystemCollector.so
            """)
        #expect(issues.map(\.description) == [
            "config.yaml:2:3: plugins: expected a list of plugins (each item starting with '- '), found a mapping",
        ])
    }

    @Test("a section given a scalar is a type error naming the section")
    func scalarInsteadOfSection() {
        #expect(parseIssues("http: 8080\n").map(\.description) == [
            "config.yaml:1:7: http: expected a mapping of keys to values for this key, found the number 8080",
        ])
    }

    @Test("a key left without a value says what to write and what the default is")
    func emptyValue() {
        #expect(parseIssues("http:\n  port:\n").map(\.description) == [
            "config.yaml:2:8: http.port: has no value; write an integer, or remove the key to keep the default (8080)",
        ])
    }

    @Test("a plugin without a path is a missing-key issue at the plugin's item")
    func missingPluginPath() {
        let issues = parseIssues("""
            plugins:
              - name: first
                path: libA.so
              - name: second
                interval: 5s
            """)
        #expect(issues.map(\.description) == [
            "config.yaml:4:5: plugins[1].path: missing required key; add 'path:' naming the plugin's shared "
                + "library (for example libStepflowSystemCollector.so)",
        ])
    }

    @Test("an unknown key suggests the closest valid key at its level")
    func unknownKeyWithSuggestion() {
        let issues = parseIssues("""
            metrics:
              retention_days: 3

              colection_interval: 10s
            """)
        #expect(issues.map(\.description) == [
            "config.yaml:4:3: metrics.colection_interval: unknown key (did you mean 'collection_interval'?)",
        ])
        #expect(issues.first?.suggestion == "collection_interval")
    }

    @Test("an unknown key with no close match lists the valid keys")
    func unknownKeyWithoutSuggestion() {
        #expect(parseIssues("storage:\n  engine: sqlite\n").map(\.description) == [
            "config.yaml:2:3: storage.engine: unknown key; the keys allowed here are 'path', 'busy_timeout', 'synchronous', 'integrity_check_interval'",
        ])
    }

    @Test("unknown keys are found in plugin items and at the root too")
    func unknownKeysEverywhere() {
        let issues = parseIssues("""
            metrcs: {}
            plugins:
              - path: libA.so
                intervl: 5s
            """)
        #expect(issues.map(\.description) == [
            "config.yaml:1:1: metrcs: unknown key (did you mean 'metrics'?)",
            "config.yaml:4:5: plugins[0].intervl: unknown key (did you mean 'interval'?)",
        ])
    }

    @Test("two plugins with the same name are an issue at the second name")
    func duplicatePluginNames() {
        let issues = parseIssues("""
            plugins:
              - {name: disk, path: libA.so}
              - {name: disk, path: libB.so}
            """)
        #expect(issues.map(\.description) == [
            "config.yaml:3:12: plugins[1].name: the name 'disk' is already used by plugins[0]; "
                + "give each plugin its own name",
        ])
    }

    @Test("a plugin's settings must be a mapping")
    func pluginSettingsMustBeMapping() {
        #expect(parseIssues("plugins:\n  - path: libA.so\n    settings: [a, b]\n").map(\.description) == [
            "config.yaml:3:15: plugins[0].settings: expected a mapping of plugin settings, found a list",
        ])
    }

    @Test("every problem in the file is reported, in document order, not just the first")
    func collectsAllIssues() {
        let issues = parseIssues("""
            metrics:
              max_metrics_per_batch: 0
              retention_days: -1
            tracing:
              sampling_rate: 2
            http:
              port: 70000
            plugins:
              - path: libA.so
                interval: 0s
            """)
        #expect(issues.map { "\($0.line ?? 0) \($0.keyPath)" } == [
            "2 metrics.max_metrics_per_batch",
            "3 metrics.retention_days",
            "5 tracing.sampling_rate",
            "7 http.port",
            "10 plugins[0].interval",
        ])
    }

    @Test("one line per issue in the error's description")
    func descriptionIsOneLinePerIssue() {
        let error = ConfigurationError(issues: parseIssues("metrics: {a: 1, b: 2, c: 3}\n"))
        #expect(error.issues.count == 3)
        #expect(error.description.split(separator: "\n").count == 3)
    }
}

/// One out-of-range value and the message it must produce.
struct RangeCase: Sendable, CustomTestStringConvertible {
    let yaml: String
    let expected: String
    var testDescription: String { yaml.replacingOccurrences(of: "\n", with: " ") }
}

@Suite("Out-of-range values")
struct OutOfRangeTests {
    static let cases: [RangeCase] = [
        .init(yaml: "metrics:\n  collection_interval: -5s\n",
              expected: "config.yaml:2:24: metrics.collection_interval: must be longer than zero, found -5s"),
        .init(yaml: "alerts:\n  notification_timeout: 0\n",
              expected: "config.yaml:2:25: alerts.notification_timeout: must be longer than zero, found 0s"),
        .init(yaml: "logs:\n  retention_days: -1\n",
              expected: "config.yaml:2:19: logs.retention_days: must not be negative, found -1"),
        .init(yaml: "metrics:\n  max_metrics_per_batch: 0\n",
              expected: "config.yaml:2:26: metrics.max_metrics_per_batch: must be at least 1, found 0"),
        .init(yaml: "tracing:\n  sampling_rate: 1.01\n",
              expected: "config.yaml:2:18: tracing.sampling_rate: must be between 0 and 1, found 1.01"),
        .init(yaml: "tracing:\n  sampling_rate: -0.1\n",
              expected: "config.yaml:2:18: tracing.sampling_rate: must be between 0 and 1, found -0.1"),
        .init(yaml: "http:\n  port: 65536\n",
              expected: "config.yaml:2:9: http.port: must be a port between 0 and 65535, found 65536"),
        .init(yaml: "http:\n  port: -1\n",
              expected: "config.yaml:2:9: http.port: must be a port between 0 and 65535, found -1"),
        .init(yaml: "scheduler:\n  jitter: 1.5\n",
              expected: "config.yaml:2:11: scheduler.jitter: must be between 0 and 1, found 1.5"),
        .init(yaml: "plugins:\n  - path: libA.so\n    timeout: -1s\n",
              expected: "config.yaml:3:14: plugins[0].timeout: must be longer than zero, found -1s"),
        .init(yaml: "exporters:\n  prometheus:\n    endpoint: localhost:9090\n",
              expected: "config.yaml:3:15: exporters.prometheus.endpoint: must be a URL starting with http:// or "
                  + "https://, found 'localhost:9090'"),
    ]

    @Test("a value outside its range is reported at the value with the allowed range", arguments: cases)
    func outOfRange(_ testCase: RangeCase) {
        #expect(parseIssues(testCase.yaml).map(\.description) == [testCase.expected])
    }

    @Test("the edges of each range are accepted")
    func edgesAreAccepted() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            metrics: {retention_days: 0, max_metrics_per_batch: 1}
            tracing: {sampling_rate: 0}
            scheduler: {jitter: 1}
            http: {port: 0}
            """, file: "c.yaml", environment: [:])
        #expect(configuration.metrics.retentionDays == 0)
        #expect(configuration.metrics.maxMetricsPerBatch == 1)
        #expect(configuration.tracing.samplingRate == 0)
        #expect(configuration.scheduler.jitter == 1)
        #expect(configuration.http.port == 0)
    }
}
