import Foundation
import StepflowCore
import StepflowPluginHost
import StepflowScheduling

/// What `GET /api/v1/plugins` and `stepflow-monitor plugins list` show: every configured plugin, running
/// or refused, with its schedule, state, last error and what it costs (docs/profiler.md, "Plugins and jobs").
enum PluginReport {
    static func json(
        running: [ManagedPlugin], refused: [PluginLoadResult], scheduler: Scheduler<ContinuousClock>
    ) -> JSONValue {
        var items: [JSONValue] = []
        for plugin in running {
            let status = scheduler.status(of: PluginManager.jobName(plugin.name))
            var item: [String: JSONValue] = [
                "name": .string(plugin.name),
                "path": .string(plugin.resolvedPath),
                "version": .string(plugin.collector.info.version),
                "isolation": .string(plugin.collector.isolation.rawValue),
                "interval_seconds": .double(plugin.schedule.interval.inSeconds),
                "timeout_seconds": .double(plugin.schedule.timeout.inSeconds),
                "state": .string(status?.state.rawValue ?? "unknown"),
                "breaker": .string(status?.breaker.rawValue ?? "closed"),
                "runs": .int(Int64(status?.runs ?? 0)),
                "failures": .int(Int64(status?.failures ?? 0)),
                "timeouts": .int(Int64(status?.timeouts ?? 0)),
                "restarts": .int(Int64(plugin.collector.restarts)),
                "refused_samples": .int(Int64(clamping: plugin.refusedSamples.values.reduce(0, &+))),
                "last_error": status?.lastError.map(JSONValue.string) ?? .null,
            ]
            if let series = plugin.job?.seriesCounts { item["series"] = .int(Int64(series.known)) }
            let usage = plugin.collector.usage
            item["cpu_seconds"] = .double(usage.cpuSeconds)
            item["host_cpu_seconds"] = .double(status?.cpuSeconds ?? 0)
            item["calls"] = .int(Int64(clamping: usage.calls))
            item["samples"] = .int(Int64(clamping: usage.samples))
            item["bytes"] = .int(Int64(clamping: usage.bytes))
            item["memory_bytes"] = usage.memoryBytes.map { .int(Int64(clamping: $0)) } ?? .null
            if let lastSuccess = status?.lastSuccess {
                item["last_success"] = .string(lastSuccess.rfc3339Seconds)
            }
            items.append(.object(item))
        }
        for plugin in refused {
            items.append(.object([
                "name": .string(plugin.name),
                "path": .string(plugin.resolvedPath),
                "state": .string("refused"),
                "last_error": .string(plugin.error ?? ""),
            ]))
        }
        return .object(["plugins": .array(items)])
    }
}
