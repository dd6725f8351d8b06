import ArgumentParser
import Foundation
import StepflowPluginHost
import StepflowSecurity

/// `stepflow-monitor plugins …`: tools for plugin authors and operators.
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Inspect plugin libraries, and list or restart the plugins of a running host.",
        subcommands: [Inspect.self, PluginsListCommand.self, Restart.self]
    )

    /// `stepflow-monitor plugins restart NAME`.
    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop and start one plugin of the running host (its library file is read again).",
            discussion: "Example: stepflow-monitor plugins restart filesystem")

        @OptionGroup var host: HostOptions
        @Argument(help: "The plugin's name, as `plugins list` shows it.") var name: String

        func run() async throws {
            let path = "/api/v1/plugins/\(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name)/restart"
            let (status, data) = await host.request("POST", path)
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            let errors = object?["errors"] as? [String] ?? []
            guard status == 200 else { fail("stepflow-monitor: \(errors.first ?? HostOptions.errorText(data))") }
            print("plugin \(name) restarted")
            if let problem = errors.first {
                print(problem)
                throw ExitCode(1)
            }
        }
    }

    /// `stepflow-monitor plugins inspect PATH`.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load one plugin library and print its descriptor, or exactly why it cannot be loaded."
        )

        @Argument(help: "The plugin's shared library (.so).")
        var path: String

        func run() async throws {
            // Before any of the library's code runs: the file checks a host makes (with the default
            // security.plugin_owners, this user and root), and the digest to pin in its plugins: entry.
            let untrusted = LibraryTrust().violation(ofLibraryAt: path)
            if let digest = try? FileDigest.sha256(ofFileAt: path) {
                print("sha256:       \(digest)  (pin it: sha256: \"\(digest)\" in the plugins: entry)")
            }
            print("file checks:  \(untrusted ?? "passed (owner and permissions of the file and its directories)")")
            let inspection = await PluginInspection.inspect(path: path)
            print(inspection)
            if !inspection.isLoadable || untrusted != nil { throw ExitCode(1) }
        }
    }
}
