/// What a process must be to belong to a group (YAML `profiler.processes[].match`); every criterion given must
/// hold (AND). Regexes are RE2 and match the whole text, as in Prometheus (`.*nginx.*` for "contains").
public struct ProcessMatch: Sendable, Hashable {
    /// `comm`: a regex over the command name (`/proc/PID/comm`, at most 15 bytes).
    public var comm: String?
    /// `exe`: a regex over the executable's path (`/proc/PID/exe`).
    public var exe: String?
    /// `cmdline`: a regex over the command line, arguments joined by spaces.
    public var cmdline: String?
    /// `user`: the user name (or numeric id) the process runs as (its real user).
    public var user: String?
    /// `cgroup`: a prefix of the process's cgroup v2 path (`/system.slice/nginx.service`).
    public var cgroup: String?

    public init(comm: String? = nil, exe: String? = nil, cmdline: String? = nil, user: String? = nil, cgroup: String? = nil) {
        self.comm = comm
        self.exe = exe
        self.cmdline = cmdline
        self.user = user
        self.cgroup = cgroup
    }

    /// Whether no criterion is given (such a group would take every process).
    public var isEmpty: Bool { comm == nil && exe == nil && cmdline == nil && user == nil && cgroup == nil }
}

/// One named group of processes the profiler reports on (YAML `profiler.processes[]`).
public struct ProcessGroupConfig: Sendable, Hashable {
    /// `name`: the group's `group` label.
    public var name: String
    /// `match`: what a process must be; a process belongs to the first group it matches.
    public var match: ProcessMatch
    /// `track_children`, default false: children of a member that match no group of their own belong to this one.
    public var trackChildren: Bool

    public init(name: String, match: ProcessMatch, trackChildren: Bool = false) {
        self.name = name
        self.match = match
        self.trackChildren = trackChildren
    }
}

/// The profiler (YAML `profiler:`; docs/profiler.md).
public struct ProfilerConfig: Sendable, Hashable {
    /// `scan_interval`, default 15s: how often the process groups are read from /proc.
    public var scanInterval: Duration = .seconds(15)
    /// `span_metrics`, default true: count every finished span by operation and status, with a duration histogram
    /// (`stepflow_span_calls_total`, `stepflow_span_duration_seconds`), as OpenTelemetry's spanmetrics connector does.
    public var spanMetrics = true
    /// `span_buckets`: the duration histogram's upper bounds, in seconds (the spanmetrics connector's defaults).
    public var spanBuckets: [Double] = [0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15]
    /// `max_operations`, default 500: the most distinct operations (span names) counted; spans of further ones are
    /// counted as `operation="other"`.
    public var maxOperations = 500
    /// `proportional_memory`, default false: also read each member's proportional set size (`smaps_rollup`),
    /// which costs the kernel a walk of the process's mappings on every scan.
    public var proportionalMemory = false
    /// `processes`, default none: the process groups to report on (off when empty).
    public var processes: [ProcessGroupConfig] = []

    public init() {}
    public static let `default` = ProfilerConfig()
}
