import StepflowCore

/// The compiled `profiler.processes` groups: which group a process belongs to, reading only what the groups ask
/// about (the command line, executable, user or cgroup are read once per process, and only when some group
/// matches on them).
struct ProcessGroupMatcher: Sendable {
    struct Group: Sendable {
        var name: String
        var trackChildren: Bool
        var comm: AnchoredRegex?
        var exe: AnchoredRegex?
        var cmdline: AnchoredRegex?
        var user: String?
        var cgroup: String?
    }

    /// What one process offers to match on; each is read only when a group needs it.
    struct Subject {
        var comm: String
        var uid: UInt32?
        var userName: String?
        var exe: () -> String?
        var cmdline: () -> String?
        var cgroup: () -> String?
    }

    let groups: [Group]
    let needsCommandLine: Bool
    let needsExecutable: Bool
    let needsUser: Bool
    let needsCgroup: Bool

    /// - Throws: `validationError` naming the group and criterion whose regex does not compile.
    init(_ configuration: [ProcessGroupConfig]) throws(MonitoringError) {
        var groups: [Group] = []
        for group in configuration {
            func regex(_ pattern: String?, _ key: String) throws(MonitoringError) -> AnchoredRegex? {
                guard let pattern else { return nil }
                return try AnchoredRegex(pattern, what: "profiler.processes '\(group.name)' match.\(key)")
            }
            groups.append(Group(
                name: group.name, trackChildren: group.trackChildren, comm: try regex(group.match.comm, "comm"),
                exe: try regex(group.match.exe, "exe"), cmdline: try regex(group.match.cmdline, "cmdline"),
                user: group.match.user, cgroup: group.match.cgroup))
        }
        self.groups = groups
        needsCommandLine = groups.contains { $0.cmdline != nil }
        needsExecutable = groups.contains { $0.exe != nil }
        needsUser = groups.contains { $0.user != nil }
        needsCgroup = groups.contains { $0.cgroup != nil }
    }

    /// The index of the first group `subject` matches, or `nil`.
    func group(of subject: Subject) -> Int? {
        var exe: String??
        var cmdline: String??
        var cgroup: String??
        for (index, group) in groups.enumerated() {
            if let pattern = group.comm, !pattern.matches(subject.comm) { continue }
            if let pattern = group.exe {
                if exe == nil { exe = .some(subject.exe()) }
                guard let path = exe!, pattern.matches(path) else { continue }
            }
            if let pattern = group.cmdline {
                if cmdline == nil { cmdline = .some(subject.cmdline()) }
                guard let line = cmdline!, pattern.matches(line) else { continue }
            }
            if let user = group.user {
                guard let uid = subject.uid else { continue }
                guard user == String(uid) || subject.userName == user else { continue }
            }
            if let prefix = group.cgroup {
                if cgroup == nil { cgroup = .some(subject.cgroup()) }
                guard let path = cgroup!, path.hasPrefix(prefix) else { continue }
            }
            return index
        }
        return nil
    }
}
