import ArgumentParser
import Logging
import StepflowCore
import StepflowPluginHost

/// `stepflow-monitor plugin-runner`: the child process of an `isolation: process` plugin. Hidden: the host starts
/// it itself and talks to it over stdin/stdout in binary frames; it is of no use from a shell.
struct PluginRunnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin-runner",
        abstract: "Serve one plugin to a stepflow-monitor host over stdin/stdout (started by the host).",
        shouldDisplay: false
    )

    @Option(help: "The plugin's shared library.")
    var path: String

    @Option(help: "RLIMIT_AS in bytes, applied before the plugin is loaded.")
    var memoryLimit: Int?

    @Option(help: "RLIMIT_CPU in seconds, applied before the plugin is loaded.")
    var cpuTimeLimit: Int?

    @Option(help: "The most samples one collection may hand over (budgets.metrics_per_collection).")
    var sampleBudget: Int = PluginInstance.defaultSampleBudget

    func run() async throws {
        LoggingSystem.bootstrap { _ in RunnerLogHandler() }
        let limits = PluginLimits(memoryBytes: memoryLimit, cpuTime: cpuTimeLimit.map { .seconds($0) })
        let status = await PluginRunner.run(
            path: path, limits: limits, sampleBudget: sampleBudget, logger: Logger(label: "stepflow.plugin-runner"))
        if status != 0 { throw ExitCode(status) }
    }
}
