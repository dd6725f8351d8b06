import ArgumentParser
import Foundation
import StepflowPluginHost

/// `stepflow-monitor plugins …`: tools for plugin authors and operators.
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Inspect plugin libraries and list the plugins of a running host.",
        subcommands: [Inspect.self, PluginsListCommand.self]
    )

    /// `stepflow-monitor plugins inspect PATH`.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load one plugin library and print its descriptor, or exactly why it cannot be loaded."
        )

        @Argument(help: "The plugin's shared library (.so).")
        var path: String

        func run() async throws {
            let inspection = await PluginInspection.inspect(path: path)
            print(inspection)
            if !inspection.isLoadable { throw ExitCode(1) }
        }
    }
}
