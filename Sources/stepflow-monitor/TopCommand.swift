import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `stepflow-monitor top`: where a running host's CPU and memory go, refreshed every second, like `top`
/// (docs/profiler.md, "Profile"). On a terminal the screen is redrawn in place; otherwise each refresh is printed
/// as plain lines followed by an empty line.
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "Watch a running host: plugins and jobs by CPU, threads, memory, queues, process groups."
    )

    @OptionGroup var host: HostOptions

    @Option(name: [.customShort("d"), .long], help: "Seconds between refreshes (0.2 to 3600).")
    var interval: Double = 1

    @Option(name: [.customShort("n"), .long], help: "Refreshes to show, then exit (default: until interrupted).")
    var iterations: Int?

    func validate() throws {
        guard interval.isFinite, interval >= 0.2, interval <= 3600 else {
            throw ValidationError("--interval must be from 0.2 to 3600 seconds, found \(interval)")
        }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1, found \(iterations)") }
    }

    func run() async throws {
        let terminal = isatty(STDOUT_FILENO) == 1
        let base = host.baseURL()
        var shown = 0
        while iterations.map({ shown < $0 }) ?? true {
            let (status, data) = await host.request("GET", "/api/v1/profile")
            guard status == 200, let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                fail("stepflow-monitor: \(base)/api/v1/profile answered \(status): \(HostOptions.errorText(data))")
            }
            let text = TopView.render(object, host: base, width: terminal ? Self.terminalWidth() : 200)
            if terminal {
                // Home and clear, then the view: one write, so the screen does not flicker.
                FileHandle.standardOutput.write(Data(("\u{1B}[H\u{1B}[2J" + text + "\n").utf8))
            } else {
                FileHandle.standardOutput.write(Data((text + "\n\n").utf8))
            }
            shown += 1
            if iterations.map({ shown >= $0 }) ?? false { break }
            try await Task.sleep(for: .seconds(interval))
        }
    }

    /// The terminal's width in columns (80 when it cannot be read).
    static func terminalWidth() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}

/// The text of one refresh of `top`.
enum TopView {
    static func render(_ profile: [String: Any], host: String, width: Int) -> String {
        var lines: [String] = []
        let process = profile["process"] as? [String: Any] ?? [:]
        let memory = profile["memory"] as? [String: Any] ?? [:]
        let window = number(profile["window_seconds"])
        let windowText = window > 0 ? "last " + String(format: "%.0f", window) + " s" : "since start"
        lines.append(
            "stepflow-monitor top  \(host)  \(profile["time"] as? String ?? "")  up \(duration(number(profile["uptime_seconds"])))")
        lines.append(
            "CPU \(percent(process["cpu_percent"])) (\(windowText))  \(integer(process["threads"])) threads  "
                + "RSS \(bytes(memory["resident_bytes"]))")
        lines.append(
            "MEM anon \(bytes(memory["anonymous_bytes"]))  file \(bytes(memory["file_bytes"]))  "
                + "sqlite \(bytes(memory["sqlite_bytes"]))  series \(integer(memory["series"])) "
                + "(\(bytes(memory["series_bytes"])))  queued \(bytes(memory["queued_bytes"]))")
        lines.append("")

        let plugins = (profile["plugins"] as? [[String: Any]] ?? []).prefix(10)
        lines.append("PLUGINS BY CPU (\(windowText))")
        lines.append(TextTable.render(
            columns: ["PLUGIN", "ISOLATION", "CPU%", "CPU TOTAL", "MEMORY", "SAMPLES"],
            rows: plugins.map { plugin in
                [text(plugin["plugin"]), text(plugin["isolation"]), percent(plugin["cpu_percent"]),
                 seconds(plugin["cpu_seconds"]), plugin["memory_bytes"] is NSNull ? "-" : bytes(plugin["memory_bytes"]),
                 integer(plugin["samples"])]
            }))
        if plugins.isEmpty { lines.append("(no plugins)") }
        lines.append("")

        let jobs = (profile["jobs"] as? [[String: Any]] ?? []).prefix(10)
        lines.append("JOBS BY CPU (\(windowText))")
        lines.append(TextTable.render(
            columns: ["JOB", "KIND", "STATE", "CPU%", "CPU TOTAL", "RUNS"],
            rows: jobs.map { job in
                [text(job["job"]), text(job["kind"]), text(job["state"]), percent(job["cpu_percent"]),
                 seconds(job["cpu_seconds"]), integer(job["runs"])]
            }))
        lines.append("")

        let queues = profile["queues"] as? [[String: Any]] ?? []
        lines.append(TextTable.render(
            columns: ["QUEUE", "DEPTH", "CAPACITY", "DROPPED", "LAG"],
            rows: queues.map { queue in
                [text(queue["queue"]), integer(queue["depth"]), integer(queue["capacity"]), integer(queue["dropped"]),
                 String(format: "%.1fs", number(queue["lag_seconds"]))]
            }))
        lines.append("")

        let threads = (profile["threads"] as? [[String: Any]] ?? []).prefix(8)
        lines.append("THREADS BY CPU (\(windowText))")
        lines.append(TextTable.render(
            columns: ["TID", "NAME", "CPU%", "CPU TOTAL"],
            rows: threads.map { thread in
                [integer(thread["tid"]), text(thread["name"]), percent(thread["cpu_percent"]), seconds(thread["cpu_seconds"])]
            }))
        if let groups = profile["process_groups"] as? [[String: Any]] {
            lines.append("")
            lines.append("PROCESS GROUPS (scanned \(profile["process_groups_scanned"] as? String ?? "-"))")
            lines.append(TextTable.render(
                columns: ["GROUP", "PROCS", "THREADS", "CPU TOTAL", "RSS"],
                rows: groups.map { group in
                    [text(group["group"]), integer(group["processes"]), integer(group["threads"]),
                     seconds(group["cpu_seconds"]), bytes(group["resident_bytes"])]
                }))
        }
        // Lines longer than the terminal would wrap and scroll the view: cut them.
        return lines.map { $0.count > width ? String($0.prefix(max(width, 20))) : $0 }.joined(separator: "\n")
    }

    static func number(_ value: Any?) -> Double {
        guard let value = (value as? NSNumber)?.doubleValue, value.isFinite else { return 0 }
        return value
    }

    static func text(_ value: Any?) -> String {
        (value as? String).map { $0.replacingOccurrences(of: "\n", with: " ") } ?? "-"
    }

    static func integer(_ value: Any?) -> String {
        guard let value = value as? NSNumber else { return "-" }
        return value.stringValue
    }

    static func percent(_ value: Any?) -> String { String(format: "%.1f%%", max(0, number(value))) }

    static func seconds(_ value: Any?) -> String { String(format: "%.2fs", max(0, number(value))) }

    static func bytes(_ value: Any?) -> String { PluginTable.bytes(value) }

    static func duration(_ seconds: Double) -> String {
        let total = Int(max(0, min(seconds, 1e12)))
        let (days, hours, minutes) = (total / 86_400, total / 3600 % 24, total / 60 % 60)
        if days > 0 { return "\(days)d\(hours)h" }
        if hours > 0 { return "\(hours)h\(String(format: "%02d", minutes))m" }
        return "\(minutes)m\(String(format: "%02d", total % 60))s"
    }
}
