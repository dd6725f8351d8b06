import Foundation
@testable import StepflowConfig
import StepflowCore
import Testing

@Suite("The embedded default config.yaml")
struct EmbeddedDefaultTests {
    @Test("the embedded bytes are the repository's config.yaml")
    func embeddedMatchesRootFile() throws {
        #expect(ConfigurationLoader.embeddedDefaultYAML == (try repositoryFile("config.yaml")))
    }

    @Test("loading no file gives the Swift defaults, apart from the plugin list")
    func embeddedEqualsDefaults() throws {
        let loaded = try ConfigurationLoader.load(path: nil, environment: [:])
        var configuration = loaded.configuration
        configuration.plugins = []
        #expect(configuration == MonitoringConfiguration.default)
        #expect(loaded.source == ConfigurationLoader.embeddedSourceName)
        #expect(loaded.baseDirectory == nil)
    }

    @Test("the embedded default loads the system and filesystem collectors")
    func embeddedPlugins() throws {
        let plugins = try ConfigurationLoader.load(path: nil, environment: [:]).configuration.plugins
        #expect(plugins == [
            PluginConfig(
                name: "system", path: "libStepflowSystemCollector.so", enabled: true,
                interval: .seconds(15), timeout: .seconds(5), settings: [:]),
            PluginConfig(
                name: "filesystem", path: "libStepflowFilesystemCollector.so", enabled: true,
                interval: .seconds(30), timeout: .seconds(5), settings: ["paths": .string("/")]),
        ])
    }

    @Test("config.yaml writes out every key rather than leaving one to its default")
    func everyKeyIsWrittenOut() throws {
        let yaml = ConfigurationLoader.embeddedDefaultYAML
        let decoder = try ConfigurationLoader.decode(yaml: yaml, file: "config.yaml").decoder
        #expect(decoder.issues.isEmpty)
        #expect(decoder.keyPathsSet == ConfigurationSchema.settings.map(\.keyPath))
    }

    @Test("config.yaml names the environment variable of every key that has one")
    func everyVariableIsDocumented() {
        let yaml = ConfigurationLoader.embeddedDefaultYAML
        for variable in ConfigurationSchema.settings.compactMap(\.environmentVariable) {
            #expect(yaml.contains("Env: \(variable)\n"), "config.yaml does not mention \(variable)")
        }
    }
}
