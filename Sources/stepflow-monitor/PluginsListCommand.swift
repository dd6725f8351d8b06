import ArgumentParser
import Foundation
import StepflowConfig

/// `stepflow-monitor plugins list`: the plugins of a running host, read from its HTTP API.
struct PluginsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the plugins of a running host: name, isolation, interval, state, CPU, memory, path, last error."
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
    static let columns = [
        "NAME", "ISOLATION", "INTERVAL", "STATE", "RUNS", "FAILURES", "RESTARTS", "CPU", "MEMORY", "PATH", "LAST ERROR",
    ]

    static func render(_ plugins: [[String: Any]]) -> String {
        if plugins.isEmpty { return "no plugins configured" }
        let rows: [[String]] = plugins.map { plugin in
            [
                text(plugin["name"]), text(plugin["isolation"], or: "-"), interval(plugin["interval_seconds"]),
                text(plugin["state"]), text(plugin["runs"], or: "-"), text(plugin["failures"], or: "-"),
                text(plugin["restarts"], or: "-"), cpu(plugin["cpu_seconds"]), bytes(plugin["memory_bytes"]),
                text(plugin["path"]), text(plugin["last_error"], or: "-"),
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

    /// CPU seconds, to the millisecond: `0.125s`.
    static func cpu(_ value: Any?) -> String {
        guard let seconds = (value as? NSNumber)?.doubleValue, seconds.isFinite, seconds >= 0 else { return "-" }
        return String(format: "%.3fs", seconds)
    }

    /// Bytes in binary units: `12.3 MiB`.
    static func bytes(_ value: Any?) -> String {
        guard let count = (value as? NSNumber)?.doubleValue, count.isFinite, count >= 0 else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var scaled = count
        var unit = 0
        while scaled >= 1024, unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(scaled)) B" : String(format: "%.1f", scaled) + " " + units[unit]
    }

    private static func interval(_ value: Any?) -> String {
        guard let seconds = (value as? NSNumber)?.doubleValue else { return "-" }
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }
}
