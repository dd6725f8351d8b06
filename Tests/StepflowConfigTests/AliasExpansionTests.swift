import StepflowConfig
import StepflowCore
import Testing

@Suite("YAML aliases cannot blow up the loader")
struct AliasExpansionTests {
    /// Nine levels of nine aliases each: 9^9 (387 million) values once expanded, in a few hundred bytes.
    static let bombLevels = (1...8).map { level in
        "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]"
    }

    @Test("an alias bomb in plugin settings is refused within a second")
    func bombInSettingsFailsFast() throws {
        let yaml = """
            plugins:
              - path: libA.so
                settings:
                  l0: &l0 [x, x, x, x, x, x, x, x, x]
            \(Self.bombLevels.map { "      " + $0 }.joined(separator: "\n"))
                  boom: *l8
            """
        let clock = ContinuousClock()
        var issues: [ConfigurationIssue] = []
        let elapsed = clock.measure { issues = parseIssues(yaml) }
        #expect(elapsed < .seconds(1))
        let issue = try #require(issues.first)
        #expect(issues.count == 1)
        #expect(issue.message.contains("expands to more than 100000 values"))
        #expect(issue.line != nil)
    }

    @Test("an alias used as a mapping key is refused before Yams expands it")
    func aliasAsKeyIsRefused() throws {
        let yaml = """
            l0: &l0 [x, x, x, x, x, x, x, x, x]
            \(Self.bombLevels.joined(separator: "\n"))
            plugins:
              - path: libA.so
                settings:
                  *l8 : boom
            """
        let clock = ContinuousClock()
        var issues: [ConfigurationIssue] = []
        let elapsed = clock.measure { issues = parseIssues(yaml) }
        #expect(elapsed < .seconds(1))
        let issue = try #require(issues.first)
        #expect(issue.line == 13 && issue.column == 7)
        #expect(issue.message.contains("cannot be used in mapping keys"))
    }

    @Test("a complex key in a document with aliases is refused")
    func complexKeyWithAliasesIsRefused() {
        let yaml = """
            a: &a [1, 2]
            plugins:
              - path: libA.so
                settings:
                  ? [*a, *a]
                  : boom
            """
        #expect(parseIssues(yaml).map { "\($0.line ?? 0):\($0.column ?? 0)" } == ["5:7"])
    }

    @Test("a modest alias, and a quoted asterisk, still work")
    func modestAliasesWork() throws {
        let configuration = try ConfigurationLoader.parse(yaml: """
            plugins:
              - path: libA.so
                settings: &shared {paths: "/", pattern: "*a: b"}
              - path: libB.so
                settings: *shared
            """, file: "c.yaml", environment: [:])
        #expect(configuration.plugins.map(\.settings) == Array(repeating: [
            "paths": .string("/"), "pattern": .string("*a: b"),
        ], count: 2))
    }
}
