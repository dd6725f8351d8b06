#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StepflowCore
import StepflowScheduling

/// Reads the host process' own resource use from `/proc/self`, under the names Prometheus client libraries
/// use (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`, …).
public struct ProcessCollector: Sendable {
    private let procRoot: String

    /// - Parameter procRoot: the proc filesystem (tests may point it elsewhere).
    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// One sample of each process metric.
    public func collect() throws(MonitoringError) -> [Metric] {
        let now = Date()
        let ticks = ProcessStatLine.ticksPerSecond
        let path = "\(procRoot)/self/stat"
        guard let stat = ProcessStatLine(try read(path)) else {
            throw .internalError("cannot parse \(path): no ')' after the command name")
        }
        func field(_ number: Int) throws(MonitoringError) -> Double {
            guard let value = stat.field(number) else { throw .internalError("cannot parse field \(number) of \(path)") }
            return value
        }
        let cpuSeconds = (try field(14) + field(15)) / ticks
        let threads = try field(20)
        let startTicks = try field(22)
        let virtualBytes = try field(23)
        let residentBytes = try field(24) * ProcessStatLine.pageSize

        var metrics: [Metric] = [
            Metric(name: "process_cpu_seconds_total", value: .counter(cpuSeconds), timestamp: now,
                   metadata: ["help": "Total user and system CPU time spent in seconds."]),
            Metric(name: "process_resident_memory_bytes", value: .gauge(residentBytes), timestamp: now,
                   metadata: ["help": "Resident memory size in bytes."]),
            Metric(name: "process_virtual_memory_bytes", value: .gauge(virtualBytes), timestamp: now,
                   metadata: ["help": "Virtual memory size in bytes."]),
            Metric(name: "process_threads", value: .gauge(threads), timestamp: now,
                   metadata: ["help": "Number of OS threads in the process."]),
        ]
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "\(procRoot)/self/fd") {
            metrics.append(Metric(name: "process_open_fds", value: .gauge(Double(fds.count)), timestamp: now,
                                  metadata: ["help": "Number of open file descriptors."]))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            metrics.append(Metric(name: "process_max_fds", value: .gauge(Double(limit.rlim_cur)), timestamp: now,
                                  metadata: ["help": "Maximum number of open file descriptors."]))
        }
        if let bootTime = try? bootTimeSeconds() {
            metrics.append(Metric(name: "process_start_time_seconds", value: .gauge(bootTime + startTicks / ticks),
                                  timestamp: now,
                                  metadata: ["help": "Start time of the process since unix epoch in seconds."]))
        }
        return metrics
    }

    private func bootTimeSeconds() throws(MonitoringError) -> Double {
        let stat = try read("\(procRoot)/stat")
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            if let value = Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) { return value }
        }
        throw .internalError("no btime line in \(procRoot)/stat")
    }

    private func read(_ path: String) throws(MonitoringError) -> String {
        try ProcFile.read(path)
    }
}

/// Runs the ``ProcessCollector`` on `metrics.collection_interval` and records what it reads.
public struct ProcessCollectorJob: ScheduledJob {
    public let name = "process"
    public let kind = "builtin"
    let collector: ProcessCollector
    let engine: MetricsEngine
    let operations: OperationLedger?

    /// - Parameter operations: where each collection is counted (`metric_collection`).
    public init(collector: ProcessCollector = ProcessCollector(), engine: MetricsEngine, operations: OperationLedger? = nil) {
        self.collector = collector
        self.engine = engine
        self.operations = operations
    }

    public func run() async throws {
        let started = ContinuousClock.now
        let metrics = try collector.collect()
        try await engine.recordMetrics(metrics, from: .host)
        try? operations?.record(.metricCollection, count: metrics.count, duration: started.duration(to: .now))
    }
}
