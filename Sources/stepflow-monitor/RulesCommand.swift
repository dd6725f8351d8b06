import ArgumentParser
import Foundation
import StepflowConfig
import StepflowCore
import StepflowStorage

/// `stepflow-monitor rules …`: list a host's alert rules, or check a rule file without running anything.
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List alert rules, or check a rule file.",
        subcommands: [List.self, Check.self]
    )

    /// `stepflow-monitor rules list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the alert rules stored in the host's database (created over the API or declared in files), read-only.")

        @OptionGroup var database: MetricsCommand.DatabaseOptions
        @Flag(help: "Print one JSON object per rule instead of a table.") var json = false

        func run() async throws {
            let rules: [AlertRule]
            do {
                rules = try await AlertStore(database: try database.open()).rules()
            } catch {
                fail("stepflow-monitor: \(error)")
            }
            if json {
                for rule in rules {
                    print(JSONValue.object([
                        "id": .string(rule.id.rawValue), "name": .string(rule.name), "query": .string(rule.query),
                        "condition": rule.condition.json, "severity": .string(rule.severity.rawValue),
                        "enabled": .bool(rule.enabled), "source": rule.source.map(JSONValue.string) ?? .null,
                    ]).jsonText)
                }
                return
            }
            if rules.isEmpty {
                print("no alert rules")
                return
            }
            print(RulesCommand.table(rules, sourceColumn: true))
        }
    }

    /// `stepflow-monitor rules check`.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the alert rules of a rule file (or of a whole configuration) as the host would; exit 1 on errors.",
            discussion: """
                A rule file is a YAML mapping with one key, rules:, holding a list of rules (docs/configuration.md).
                Every problem is printed with its file, line, column, the rule and what is wrong.
                Examples:
                  stepflow-monitor rules check rules/disk.yaml
                  stepflow-monitor rules check /etc/stepflow-monitor/config.yaml
                """)

        @Argument(help: "A rule file, or a configuration file.") var file: String

        func run() async throws {
            do {
                let rules = try ConfigurationLoader.checkRules(path: file)
                print(rules.isEmpty ? "\(file): no rules" : RulesCommand.table(rules, sourceColumn: false))
                print("\(file): \(rules.count) rule\(rules.count == 1 ? "" : "s"), all valid")
            } catch {
                fail(error.detailedDescription)
            }
        }
    }

    static func table(_ rules: [AlertRule], sourceColumn: Bool) -> String {
        let rows = rules.map { rule -> [String] in
            var row = [
                rule.name, rule.severity.rawValue, rule.enabled ? "yes" : "no",
                rule.forDuration.map { ConfigurationLoader.formatDuration($0) } ?? "default", "\(rule.condition)", rule.query,
            ]
            if sourceColumn { row.insert(rule.source ?? "api", at: 3) }
            return row
        }
        var columns = ["NAME", "SEVERITY", "ENABLED", "FOR", "CONDITION", "QUERY"]
        if sourceColumn { columns.insert("SOURCE", at: 3) }
        return TextTable.render(columns: columns, rows: rows)
    }
}
