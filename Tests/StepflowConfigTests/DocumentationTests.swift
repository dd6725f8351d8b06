@testable import StepflowConfig
import Testing

@Suite("docs/configuration.md is the reference of every key")
struct DocumentationTests {
    @Test("every key appears with its environment variable and its default")
    func everyKeyIsDocumented() throws {
        let reference = try repositoryFile("docs/configuration.md")
        for setting in ConfigurationSchema.settings {
            let defaultText = setting.value(in: .default).yamlText
            let variable = setting.environmentVariable.map { "`\($0)`" } ?? "—"
            let row = "| `\(setting.keyPath)` | \(setting.accessor.type.name) | `\(defaultText)` | "
                + "\(setting.constraint.summary) | \(variable) |"
            #expect(reference.contains(row), "docs/configuration.md lacks the row: \(row)")
        }
    }

    @Test("every plugin key is documented")
    func pluginKeysAreDocumented() throws {
        let reference = try repositoryFile("docs/configuration.md")
        for key in ConfigurationSchema.pluginKeys {
            #expect(reference.contains("| `plugins[].\(key)` |"), "docs/configuration.md lacks plugins[].\(key)")
        }
    }
}
