import Foundation
import StepflowCore

extension ProcessGroupScanner.GroupTotals {
    /// The group's series. Names follow prometheus-process-exporter's `namedprocess_namegroup_*` with our prefix
    /// (the mapping is in docs/profiler.md): `stepflow_process_group_cpu_seconds_total{group,mode}`,
    /// `…_memory_bytes{group,memtype}`, `…_read_bytes_total`, `…_write_bytes_total`, `…_open_filedesc`,
    /// `…_worst_fd_ratio`, `…_threads`, `…_context_switches_total{group,ctxswitchtype}`,
    /// `…_major_page_faults_total`, `…_processes`, `…_oldest_start_time_seconds`.
    public func metrics(at time: Date) -> [Metric] {
        let group = Label("group", name)
        func series(_ suffix: String, _ value: MetricValue, _ help: String, _ extra: [Label] = []) -> Metric {
            Metric(
                name: "stepflow_process_group_" + suffix, value: value, labels: [group] + extra, timestamp: time,
                metadata: ["help": .string(help)])
        }
        var metrics = [
            series("cpu_seconds_total", .counter(userSeconds), "CPU time of the group's processes, by mode.", [Label("mode", "user")]),
            series("cpu_seconds_total", .counter(systemSeconds), "CPU time of the group's processes, by mode.", [Label("mode", "system")]),
            series("memory_bytes", .gauge(Double(residentBytes)), "Memory of the group's processes, by type.", [Label("memtype", "resident")]),
            series("memory_bytes", .gauge(Double(virtualBytes)), "Memory of the group's processes, by type.", [Label("memtype", "virtual")]),
            series("memory_bytes", .gauge(Double(swapBytes)), "Memory of the group's processes, by type.", [Label("memtype", "swapped")]),
            series("read_bytes_total", .counter(Double(readBytes)), "Bytes the group's processes read from storage."),
            series("write_bytes_total", .counter(Double(writeBytes)), "Bytes the group's processes wrote to storage."),
            series("open_filedesc", .gauge(Double(openFDs)), "Open file descriptors of the group's processes."),
            series("worst_fd_ratio", .gauge(worstFDRatio), "The highest ratio of open descriptors to the limit in the group."),
            series("threads", .gauge(Double(threads)), "Threads of the group's processes."),
            series("context_switches_total", .counter(Double(voluntarySwitches)), "Context switches of the group's processes, by type.",
                   [Label("ctxswitchtype", "voluntary")]),
            series("context_switches_total", .counter(Double(involuntarySwitches)), "Context switches of the group's processes, by type.",
                   [Label("ctxswitchtype", "nonvoluntary")]),
            series("major_page_faults_total", .counter(Double(majorFaults)), "Major page faults of the group's processes."),
            series("processes", .gauge(Double(processes)), "Processes in the group."),
        ]
        // process-exporter's memtypes with -gather-smaps.
        if let proportionalResidentBytes {
            metrics.append(series("memory_bytes", .gauge(Double(proportionalResidentBytes)), "Memory of the group's processes, by type.",
                                  [Label("memtype", "proportionalResident")]))
        }
        if let proportionalSwapBytes {
            metrics.append(series("memory_bytes", .gauge(Double(proportionalSwapBytes)), "Memory of the group's processes, by type.",
                                  [Label("memtype", "proportionalSwapped")]))
        }
        if let oldestStartTime {
            metrics.append(series("oldest_start_time_seconds", .gauge(oldestStartTime), "When the group's oldest process started, in seconds since the epoch."))
        }
        return metrics
    }
}
