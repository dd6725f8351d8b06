import ArgumentParser
import Foundation
import StepflowConfig

/// `stepflow-monitor check-config`: validates a configuration without running anything.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Print the effective configuration (after STEPFLOW_MONITORING_* overrides), or every error in it."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        do {
            let loaded = try ConfigurationLoader.load(path: options.path)
            print("# effective configuration from \(loaded.source)")
            print(ConfigurationLoader.render(loaded.configuration))
        } catch {
            FileHandle.standardError.write(Data("\(error.detailedDescription)\n".utf8))
            FileHandle.standardError.write(Data("stepflow-monitor: the configuration has \(error.issues.count) error(s)\n".utf8))
            throw ExitCode(1)
        }
    }
}
