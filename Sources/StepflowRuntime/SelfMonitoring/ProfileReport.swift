import Foundation
import StepflowCore
import StepflowMetrics
import StepflowProfiler
import StepflowScheduling
import StepflowStorage

/// `GET /api/v1/profile`: where the host's own time and memory go, as of now (docs/profiler.md, "Profile").
///
/// CPU per thread (`/proc/self/task`), jobs and plugins by CPU over the last minute, the memory split (anonymous,
/// file-backed, SQLite, the series table, the queues), each write queue's depth and lag, and the process groups'
/// last scan.
struct ProfileReport: Sendable {
    /// One write queue, whatever its rows.
    struct QueueView: Sendable {
        var name: String
        var capacity: Int
        /// Bytes one queued row takes, roughly (for the memory split).
        var rowBytes: Int
        var depth: @Sendable () -> Int
        var dropped: @Sendable () -> UInt64
        var lag: @Sendable () -> Duration
    }

    let telemetry: SelfTelemetry
    let queues: [QueueView]
    let history: UsageHistory
    let processGroups: ProcessGroupScanner?
    let started: ContinuousClock.Instant

    /// The cumulative CPU counters now (`threads`: this process's, read once by the caller that also needs names).
    func snapshot(threads threadUsage: [ThreadUsage] = ThreadUsage.current()) -> UsageHistory.Snapshot {
        var jobs: [String: Double] = [:]
        for status in telemetry.scheduler.statuses() { jobs[status.name] = status.cpuSeconds }
        var plugins: [String: Double] = [:]
        for plugin in telemetry.plugins.plugins { plugins[plugin.name] = plugin.collector.usage.cpuSeconds }
        var threads: [Int32: Double] = [:]
        for thread in threadUsage { threads[thread.tid] = thread.cpuSeconds }
        let process = ((try? ProcFile.read("/proc/self/stat")).flatMap(ProcessStatLine.init)?.cpuSeconds) ?? 0
        return UsageHistory.Snapshot(at: .now, jobs: jobs, plugins: plugins, threads: threads, process: process)
    }

    func json() -> JSONValue {
        let threadUsage = ThreadUsage.current()
        let now = snapshot(threads: threadUsage)
        let base = history.baseline(now: now.at)
        let window = base.map { $0.at.duration(to: now.at).inSeconds } ?? 0
        func delta(_ current: Double, _ before: Double?) -> Double { max(0, current - (before ?? 0)) }
        func percent(_ seconds: Double) -> Double { window > 0 ? seconds / window * 100 : 0 }

        let threadNames = Dictionary(threadUsage.map { ($0.tid, $0.name) }, uniquingKeysWith: { a, _ in a })
        var threads: [(tid: Int32, name: String, total: Double, recent: Double)] = now.threads.map { tid, total in
            (tid, threadNames[tid] ?? "?", total, delta(total, base?.threads[tid]))
        }
        threads.sort { ($0.recent, $0.total) > ($1.recent, $1.total) }

        let statuses = telemetry.scheduler.statuses()
        var jobs = statuses.map { status in
            (status: status, recent: delta(status.cpuSeconds, base?.jobs[status.name]))
        }
        jobs.sort { ($0.recent, $0.status.cpuSeconds) > ($1.recent, $1.status.cpuSeconds) }
        var plugins = telemetry.plugins.plugins.map { plugin in
            (plugin: plugin, usage: plugin.collector.usage)
        }
        plugins.sort {
            delta($0.usage.cpuSeconds, base?.plugins[$0.plugin.name]) > delta($1.usage.cpuSeconds, base?.plugins[$1.plugin.name])
        }

        let memory = ProcessStatus.kilobytes()
        func bytes(_ field: String) -> JSONValue {
            let (value, overflow) = Int64(memory[field] ?? 0).multipliedReportingOverflow(by: 1024)
            return .int(overflow ? .max : value)
        }
        let queued = queues.reduce(0) { $0 + $1.depth() * $1.rowBytes }
        var object: [String: JSONValue] = [
            "time": .string(Date().rfc3339Seconds),
            "uptime_seconds": .double(started.duration(to: now.at).inSeconds),
            "window_seconds": .double(window),
            "process": .object([
                "cpu_seconds": .double(now.process),
                "cpu_percent": .double(percent(delta(now.process, base?.process))),
                "threads": .int(Int64(now.threads.count)),
            ]),
            "threads": .array(threads.map { thread in
                .object([
                    "tid": .int(Int64(thread.tid)), "name": .string(thread.name), "cpu_seconds": .double(thread.total),
                    "cpu_percent": .double(percent(thread.recent)),
                ])
            }),
            "jobs": .array(jobs.map { job in
                .object([
                    "job": .string(job.status.name), "kind": .string(job.status.kind),
                    "cpu_seconds": .double(job.status.cpuSeconds), "cpu_percent": .double(percent(job.recent)),
                    "runs": .int(Int64(clamping: job.status.runs)), "state": .string(job.status.state.rawValue),
                ])
            }),
            "plugins": .array(plugins.map { entry in
                .object([
                    "plugin": .string(entry.plugin.name),
                    "isolation": .string(entry.plugin.collector.isolation.rawValue),
                    "cpu_seconds": .double(entry.usage.cpuSeconds),
                    "cpu_percent": .double(percent(delta(entry.usage.cpuSeconds, base?.plugins[entry.plugin.name]))),
                    "memory_bytes": entry.usage.memoryBytes.map { .int(Int64(clamping: $0)) } ?? .null,
                    "samples": .int(Int64(clamping: entry.usage.samples)),
                ])
            }),
            "memory": .object([
                "resident_bytes": bytes("VmRSS"),
                "anonymous_bytes": bytes("RssAnon"),
                "file_bytes": bytes("RssFile"),
                "shared_bytes": bytes("RssShmem"),
                "sqlite_bytes": .int(SQLiteMemory.used),
                "series": .int(Int64(telemetry.engine.seriesCount)),
                "series_bytes": .int(Int64(telemetry.engine.seriesMemoryEstimate)),
                "queued_bytes": .int(Int64(queued)),
            ]),
            "queues": .array(queues.map { queue in
                .object([
                    "queue": .string(queue.name), "depth": .int(Int64(queue.depth())),
                    "capacity": .int(Int64(queue.capacity)), "dropped": .int(Int64(clamping: queue.dropped())),
                    "lag_seconds": .double(queue.lag().inSeconds),
                ])
            }),
        ]
        if let latest = processGroups?.latest {
            object["process_groups"] = .array(latest.totals.map { group in
                .object([
                    "group": .string(group.name), "processes": .int(Int64(group.processes)),
                    "cpu_seconds": .double(group.userSeconds + group.systemSeconds),
                    "resident_bytes": .int(Int64(clamping: group.residentBytes)),
                    "threads": .int(Int64(clamping: group.threads)),
                ])
            })
            object["process_groups_scanned"] = .string(latest.at.rfc3339Seconds)
        }
        return .object(object)
    }
}
