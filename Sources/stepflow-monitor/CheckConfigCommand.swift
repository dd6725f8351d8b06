import ArgumentParser
import Foundation
import StepflowConfig
import StepflowCore

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
            let active = ExporterPlan.active(loaded.configuration)
            print(active.isEmpty ? "# active exporters: none" : "# active exporters:")
            for exporter in active {
                print("#   exporter:\(exporter.exporter):\(exporter.kind) every \(exporter.interval.inSeconds)s -> \(exporter.destination)")
            }
            // The configuration first, whole, then the warnings after it.
            fflush(nil)
            for warning in ExporterPlan.warnings(loaded.configuration) {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("\(error.detailedDescription)\n".utf8))
            FileHandle.standardError.write(Data("stepflow-monitor: the configuration has \(error.issues.count) error(s)\n".utf8))
            throw ExitCode(1)
        }
    }
}
