import ArgumentParser
import Foundation
import StepflowConfig

/// `stepflow-monitor plugins list`: the plugins of a running host, read from its HTTP API.
struct PluginsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the plugins of a running host: name, path, isolation, interval, state, last error."
    )

    @OptionGroup var host: HostOptions

    @Flag(help: "Print the raw JSON of GET /api/v1/plugins.")
    var json = false

    func run() async throws {
        let (status, data) = await host.request("GET", "/api/v1/plugins")
        guard status == 200 else {
            fail("stepflow-monitor: \(host.baseURL())/api/v1/plugins answered \(status): \(HostOptions.errorText(data))")
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let plugins = object["plugins"] as? [[String: Any]]
        else {
            fail("stepflow-monitor: \(host.baseURL())/api/v1/plugins did not answer a plugin list")
        }
        print(PluginTable.render(plugins))
    }
}

/// Renders the plugin list as an aligned text table.
enum PluginTable {
    static let columns = ["NAME", "ISOLATION", "INTERVAL", "STATE", "RUNS", "FAILURES", "RESTARTS", "PATH", "LAST ERROR"]

    static func render(_ plugins: [[String: Any]]) -> String {
        if plugins.isEmpty { return "no plugins configured" }
        let rows: [[String]] = plugins.map { plugin in
            [
                text(plugin["name"]), text(plugin["isolation"], or: "-"), interval(plugin["interval_seconds"]),
                text(plugin["state"]), text(plugin["runs"], or: "-"), text(plugin["failures"], or: "-"),
                text(plugin["restarts"], or: "-"), text(plugin["path"]), text(plugin["last_error"], or: "-"),
            ]
        }
        return TextTable.render(columns: columns, rows: rows)
    }

    private static func text(_ value: Any?, or fallback: String = "") -> String {
        switch value {
        case let string as String: return string.isEmpty ? fallback : string.replacingOccurrences(of: "\n", with: " ")
        case let number as NSNumber: return number.stringValue
        default: return fallback
        }
    }

    private static func interval(_ value: Any?) -> String {
        guard let seconds = (value as? NSNumber)?.doubleValue else { return "-" }
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }
}
