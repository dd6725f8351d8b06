import StepflowPluginSDK

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The plugin's entry symbol: the one line that exports the collector.
@_cdecl("stepflow_plugin_register")
public func stepflowPluginRegister(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    StepflowPluginExport.metricsCollector(SystemCollector.self, host: host)
}

/// Host metrics from procfs, named like Prometheus node_exporter's.
///
/// Settings:
/// - `proc_path` (default `/proc`): where procfs is mounted (e.g. `/host/proc` in a container).
/// - `sources` (default `loadavg, meminfo, stat, uptime`): which files to read.
///
/// CPU time is `node_cpu_seconds_total{cpu, mode}`, a fractional counter as in node_exporter: kernel ticks
/// divided by USER_HZ.
public struct SystemCollector: CustomMetricsCollector {
    public static let collectorName = "system"
    public static let collectionInterval: Duration = .seconds(15)
    public static let version = "1.0.0"
    public static let description = "Load average, memory, CPU time and uptime from /proc (node_exporter names)"

    /// The procfs files this collector can read.
    enum Source: String, CaseIterable {
        case loadavg, meminfo, stat, uptime
    }

    /// The /proc/meminfo fields exported, as `node_memory_<Field>_bytes`.
    static let memoryFields = ["MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree"]
    /// The first eight per-CPU columns of /proc/stat.
    static let cpuModes = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]

    let procPath: String
    let sources: [Source]
    let ticksPerSecond: UInt64
    let logger: PluginLogger

    public init(settings: PluginSettings, logger: PluginLogger) throws {
        try settings.rejectUnknownKeys(["proc_path", "sources"])
        procPath = settings.string("proc_path", default: "/proc")
        var sources: [Source] = []
        for name in settings.list("sources", default: Source.allCases.map(\.rawValue)) {
            guard let source = Source(rawValue: name) else {
                throw PluginSettingsError(
                    key: "sources",
                    message: "unknown source '\(name)'; use any of " + Source.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if !sources.contains(source) { sources.append(source) }
        }
        guard !sources.isEmpty else {
            throw PluginSettingsError(key: "sources", message: "at least one source is required")
        }
        self.sources = sources
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        ticksPerSecond = ticks > 0 ? UInt64(ticks) : 100
        self.logger = logger
        logger.debug("reading \(sources.map(\.rawValue).joined(separator: ", ")) under \(procPath)")
    }

    public var metricNames: [String] {
        sources.flatMap { source -> [String] in
            switch source {
            case .loadavg: return ["node_load1", "node_load5", "node_load15"]
            case .meminfo: return Self.memoryFields.map { "node_memory_\($0)_bytes" }
            case .stat:
                return [
                    "node_cpu_seconds_total", "node_context_switches_total", "node_forks_total", "node_intr_total",
                    "node_boot_time_seconds", "node_procs_running", "node_procs_blocked",
                ]
            case .uptime: return ["node_uptime_seconds"]
            }
        }
    }

    public func collectMetrics() throws -> [PluginMetric] {
        var metrics: [PluginMetric] = []
        for source in sources {
            let path = procPath + "/" + source.rawValue
            let text = try ProcFile.read(path)
            switch source {
            case .loadavg: metrics += try Self.loadAverage(text, path: path)
            case .meminfo: metrics += try Self.memory(text, path: path)
            case .stat: metrics += try Self.stat(text, path: path, ticksPerSecond: ticksPerSecond)
            case .uptime: metrics += try Self.uptime(text, path: path)
            }
        }
        return metrics
    }

    static func loadAverage(_ text: String, path: String) throws(PluginFailure) -> [PluginMetric] {
        let fields = ProcFile.fields(text[...])
        guard fields.count >= 3, let one = Double(fields[0]), let five = Double(fields[1]), let fifteen = Double(fields[2])
        else { throw .failed("unexpected format of \(path): '\(text.prefix(80))'") }
        return [
            .gauge("node_load1", one, help: "1m load average."),
            .gauge("node_load5", five, help: "5m load average."),
            .gauge("node_load15", fifteen, help: "15m load average."),
        ]
    }

    static func memory(_ text: String, path: String) throws(PluginFailure) -> [PluginMetric] {
        var kilobytes: [Substring: Double] = [:]
        for line in text.split(separator: "\n") {
            let fields = ProcFile.fields(line)
            guard fields.count >= 2, fields[0].hasSuffix(":"), let value = Double(fields[1]) else { continue }
            // Values are in kB (really KiB) when a unit is given, plain counts otherwise.
            kilobytes[fields[0].dropLast()] = fields.count >= 3 && fields[2] == "kB" ? value * 1024 : value
        }
        guard kilobytes["MemTotal"] != nil else { throw .failed("unexpected format of \(path): no MemTotal line") }
        return memoryFields.compactMap { field in
            kilobytes[field[...]].map { bytes in
                .gauge("node_memory_\(field)_bytes", bytes, help: "Memory information field \(field)_bytes.")
            }
        }
    }

    static func stat(_ text: String, path: String, ticksPerSecond: UInt64) throws(PluginFailure) -> [PluginMetric] {
        var metrics: [PluginMetric] = []
        let cpuHelp = "Seconds the CPUs spent in each mode."
        for line in text.split(separator: "\n") {
            let fields = ProcFile.fields(line)
            guard let key = fields.first, fields.count >= 2 else { continue }
            if key.hasPrefix("cpu"), key.count > 3 {
                let cpu = String(key.dropFirst(3))
                for (index, mode) in cpuModes.enumerated() where index + 1 < fields.count {
                    guard let ticks = UInt64(fields[index + 1]) else {
                        throw .failed("unexpected value '\(fields[index + 1])' for \(key) \(mode) in \(path)")
                    }
                    metrics.append(
                        .counter(
                            "node_cpu_seconds_total", Double(ticks) / Double(ticksPerSecond), help: cpuHelp,
                            labels: [PluginLabel("cpu", cpu), PluginLabel("mode", mode)]))
                }
                continue
            }
            guard let value = UInt64(fields[1]) else { continue }
            switch key {
            case "ctxt": metrics.append(.counter("node_context_switches_total", Double(value), help: "Total number of context switches."))
            case "processes": metrics.append(.counter("node_forks_total", Double(value), help: "Total number of forks."))
            case "intr": metrics.append(.counter("node_intr_total", Double(value), help: "Total number of interrupts serviced."))
            case "btime": metrics.append(.gauge("node_boot_time_seconds", Double(value), help: "Node boot time, in unixtime."))
            case "procs_running": metrics.append(.gauge("node_procs_running", Double(value), help: "Number of processes in runnable state."))
            case "procs_blocked": metrics.append(.gauge("node_procs_blocked", Double(value), help: "Number of processes blocked waiting for I/O to complete."))
            default: break
            }
        }
        guard metrics.contains(where: { $0.name == "node_cpu_seconds_total" }) else {
            throw .failed("unexpected format of \(path): no per-CPU lines")
        }
        return metrics
    }

    static func uptime(_ text: String, path: String) throws(PluginFailure) -> [PluginMetric] {
        guard let first = ProcFile.fields(text[...]).first, let seconds = Double(first) else {
            throw .failed("unexpected format of \(path): '\(text.prefix(80))'")
        }
        return [.gauge("node_uptime_seconds", seconds, help: "Seconds since the system booted.")]
    }
}
