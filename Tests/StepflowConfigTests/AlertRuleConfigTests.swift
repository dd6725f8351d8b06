import Foundation
import StepflowConfig
import StepflowCore
import Testing

@Suite("Alert rules in the configuration and in rule files")
struct AlertRuleConfigTests {
    let validRule = """
        alerts:
          rules:
            - name: DiskAlmostFull
              description: a filesystem is almost full
              query: 'max_over_time(disk_used_ratio{mount="/"}[10m])'
              condition: {greater_than: 0.9}
              severity: critical
              for: 5m
              keep_firing_for: 2m
              labels: {team: ops}
              annotations:
                summary: "{{ $labels.mount }} is {{ $value }} full"
        """

    @Test("a rule is read with every key, its source naming the file and line")
    func inlineRule() throws {
        let configuration = try ConfigurationLoader.parse(yaml: validRule, file: "main.yaml", environment: [:])
        let rule = try #require(configuration.alerts.rules.first)
        #expect(rule.name == "DiskAlmostFull")
        #expect(rule.condition == .greaterThan(0.9))
        #expect(rule.severity == .critical)
        #expect(rule.forDuration == .seconds(300))
        #expect(rule.keepFiringFor == .seconds(120))
        #expect(rule.labels == [Label("team", "ops")])
        #expect(rule.annotations["summary"] == "{{ $labels.mount }} is {{ $value }} full")
        #expect(rule.source == "main.yaml:3")
        #expect(throws: Never.self) { try rule.validated() }
        let rendered = ConfigurationLoader.render(configuration)
        let again = try ConfigurationLoader.parse(yaml: rendered, file: "main.yaml", environment: [:])
        #expect(again.alerts.rules.map(\.withoutSource) == configuration.alerts.rules.map(\.withoutSource))
    }

    @Test("a rule that does not validate is refused with the file, line, key path, rule name and reason")
    func invalidRules() {
        let badQuery = parseIssues("""
            alerts:
              rules:
                - name: Broken
                  query: 'rate(x)'
                  condition: {greater_than: 1}
            """)
        #expect(badQuery.count == 1)
        #expect(badQuery.first?.line == 4)
        #expect(badQuery.first?.keyPath == "alerts.rules[0] ('Broken').query")
        #expect(badQuery.first?.message.contains("rate needs a range after its selector") == true)

        let mismatch = parseIssues("""
            alerts:
              rules:
                - name: Mismatch
                  query: 'health("storage")'
                  condition: {greater_than: 1}
            """)
        #expect(mismatch.first?.line == 5)
        #expect(mismatch.first?.message.contains("compares numbers, but the query gives text") == true)

        let template = parseIssues("""
            alerts:
              rules:
                - name: Template
                  query: x
                  condition: {less_than: 1}
                  annotations: {summary: "{{ $lables.x }}"}
            """)
        #expect(template.first?.message.contains("unknown template field '{{ $lables.x }}'") == true)

        let unknownKey = parseIssues("""
            alerts:
              rules:
                - name: Typo
                  query: x
                  condtion: {less_than: 1}
            """)
        #expect(unknownKey.contains { $0.keyPath == "alerts.rules[0].condtion" && $0.suggestion == "condition" })
        #expect(unknownKey.contains { $0.message.contains("missing required key; add 'condition:'") })

        let badCondition = parseIssues("""
            alerts:
              rules:
                - name: Words
                  query: x
                  condition: {bigger_than: 1}
            """)
        #expect(badCondition.first?.message.contains("unknown condition 'bigger_than'") == true)

        let duplicate = parseIssues("""
            alerts:
              rules:
                - {name: Same, query: x, condition: {less_than: 1}}
                - {name: Same, query: y, condition: {less_than: 1}}
            """)
        #expect(duplicate.first?.message.contains("the name 'Same' is already used by alerts.rules[0]; give each rule its own name") == true)
        #expect(duplicate.first?.line == 4)
    }

    @Test("rule files are read relative to the configuration, and their errors name the rule file")
    func ruleFiles() throws {
        let main = try TemporaryFile(name: "config.yaml", contents: """
            alerts:
              rule_files: [rules/disk.yaml]
              rules:
                - {name: Inline, query: x, condition: {less_than: 1}}
            """)
        defer { main.remove() }
        let rulesDirectory = main.directory.appendingPathComponent("rules")
        try FileManager.default.createDirectory(at: rulesDirectory, withIntermediateDirectories: true)
        let ruleFile = rulesDirectory.appendingPathComponent("disk.yaml")
        try """
            rules:
              - name: FromFile
                query: 'count_logs({level>="error"}[5m])'
                condition: {greater_than: 10}
            """.write(to: ruleFile, atomically: true, encoding: .utf8)
        let loaded = try ConfigurationLoader.load(path: main.path, environment: [:]).configuration
        #expect(loaded.alerts.declaredRules.map(\.name) == ["Inline", "FromFile"])
        #expect(loaded.alerts.ruleFileRules.first?.source == ruleFile.standardizedFileURL.path + ":2")

        try """
            rules:
              - name: FromFile
                query: 'count_logs({level>="loud"}[5m])'
                condition: {greater_than: 10}
            """.write(to: ruleFile, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigurationLoader.load(path: main.path, environment: [:])
            Issue.record("a rule file with a bad rule was accepted")
        } catch {
            let issue = try #require(error.issues.first)
            #expect(issue.file == ruleFile.standardizedFileURL.path)
            #expect(issue.line == 3)
            #expect(issue.message.contains("unknown log level \"loud\""))
        }

        try FileManager.default.removeItem(at: ruleFile)
        do {
            _ = try ConfigurationLoader.load(path: main.path, environment: [:])
            Issue.record("a missing rule file was accepted")
        } catch {
            #expect(error.issues.first?.keyPath == "alerts.rule_files[0]")
            #expect(error.issues.first?.message.contains("cannot read the rule file") == true)
        }
    }

    @Test("webhook and Alertmanager URLs are empty (off) or http(s)")
    func channelURLs() {
        #expect(parseIssues("alerts: {webhook_url: 'http://127.0.0.1:9000/hook', alertmanager_url: ''}").isEmpty)
        let issues = parseIssues("alerts: {alertmanager_url: 'localhost:9093'}")
        #expect(issues.first?.message.contains("must be empty (off) or a URL starting with http://") == true)
    }
}

extension AlertRule {
    var withoutSource: AlertRule {
        var rule = self
        rule.source = nil
        return rule
    }
}
