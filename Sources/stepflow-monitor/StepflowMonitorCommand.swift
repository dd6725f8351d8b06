import ArgumentParser

/// `stepflow-monitor`: the monitoring host and its tools.
@main
struct StepflowMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stepflow-monitor",
        abstract: "An observability host: plugins, metrics, logs, traces, alerts and health, stored in SQLite.",
        subcommands: [
            RunCommand.self, CheckConfigCommand.self, PluginsCommand.self, MetricsCommand.self, LogsCommand.self,
            TracesCommand.self, AlertsCommand.self, RulesCommand.self, TopCommand.self, PluginRunnerCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}

/// Options shared by the commands that read the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "The YAML configuration file. Without it, $STEPFLOW_MONITORING_CONFIG, else the embedded default.",
            valueName: "path"))
    var config: String?

    /// The file to read, or `nil` for the embedded default.
    var path: String? {
        config ?? ProcessInfo.processInfo.environment["STEPFLOW_MONITORING_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

import Foundation
