#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StepflowCore
import Synchronization

/// Scans `/proc` and sums its processes into the `profiler.processes` groups (README, "Profiler"), as
/// prometheus-process-exporter does.
///
/// - A process belongs to the first group it matches, decided once when it is first seen (a process is known by
///   its PID and start time, so a PID the kernel reuses for another program is a new process). With
///   `track_children`, a process that matches no group joins its parent's group.
/// - Counters (CPU, I/O, context switches, major faults) stay monotonic for a group: a member that exits leaves its
///   last values in the group's total.
/// - Only what the groups ask about is read: `stat` for every process (to see who is new), and `status`, `io`,
///   `fd` only for members; the command line, executable, user and cgroup once per process, when some group
///   matches on them.
///
/// `scan()` reads files synchronously: call it on a thread of its own, not on the Swift cooperative pool.
public final class ProcessGroupScanner: Sendable {
    /// One group's sums after a scan.
    public struct GroupTotals: Sendable, Hashable {
        public var name: String
        public var processes = 0
        public var userSeconds = 0.0
        public var systemSeconds = 0.0
        public var residentBytes: UInt64 = 0
        public var virtualBytes: UInt64 = 0
        public var swapBytes: UInt64 = 0
        public var readBytes: UInt64 = 0
        public var writeBytes: UInt64 = 0
        public var openFDs: UInt64 = 0
        /// The highest ratio of open descriptors to the descriptor limit among the members.
        public var worstFDRatio = 0.0
        public var threads: UInt64 = 0
        public var voluntarySwitches: UInt64 = 0
        public var involuntarySwitches: UInt64 = 0
        public var majorFaults: UInt64 = 0
        /// When the oldest member started, in seconds since the epoch; `nil` with no member.
        public var oldestStartTime: Double?
        /// The members' proportional set size and proportional swap (`smaps_rollup` Pss, SwapPss), when
        /// `profiler.proportional_memory` is on; `nil` otherwise.
        public var proportionalResidentBytes: UInt64?
        public var proportionalSwapBytes: UInt64?
    }

    /// The counters a member contributes, kept when it exits.
    private struct Counters: Sendable {
        var userTicks: UInt64 = 0
        var systemTicks: UInt64 = 0
        var readBytes: UInt64 = 0
        var writeBytes: UInt64 = 0
        var voluntary: UInt64 = 0
        var involuntary: UInt64 = 0
        var majorFaults: UInt64 = 0

        init() {}

        init(_ sample: ProcessSample) {
            userTicks = sample.userTicks
            systemTicks = sample.systemTicks
            readBytes = sample.readBytes ?? 0
            writeBytes = sample.writeBytes ?? 0
            voluntary = sample.voluntarySwitches
            involuntary = sample.involuntarySwitches
            majorFaults = sample.majorFaults
        }

        /// The larger of each pair: a counter read lower than before (a field that could not be read this time)
        /// never makes a group's total go back.
        func atLeast(_ other: Counters) -> Counters {
            var result = self
            result.userTicks = max(userTicks, other.userTicks)
            result.systemTicks = max(systemTicks, other.systemTicks)
            result.readBytes = max(readBytes, other.readBytes)
            result.writeBytes = max(writeBytes, other.writeBytes)
            result.voluntary = max(voluntary, other.voluntary)
            result.involuntary = max(involuntary, other.involuntary)
            result.majorFaults = max(majorFaults, other.majorFaults)
            return result
        }

        mutating func add(_ other: Counters) {
            userTicks &+= other.userTicks
            systemTicks &+= other.systemTicks
            readBytes &+= other.readBytes
            writeBytes &+= other.writeBytes
            voluntary &+= other.voluntary
            involuntary &+= other.involuntary
            majorFaults &+= other.majorFaults
        }
    }

    private struct Member: Sendable {
        var group: Int
        var sample: ProcessSample
        var counters: Counters
        var fdLimit: UInt64?
    }

    private struct State: Sendable {
        var members: [ProcessSample.Identity: Member] = [:]
        var unmatched: Set<ProcessSample.Identity> = []
        var retired: [Counters]
        var userNames: [UInt32: String] = [:]
        /// The last scan's totals, and when it was taken.
        var latest: (at: Date, totals: [GroupTotals])?
    }

    private let root: String
    private let matcher: ProcessGroupMatcher
    private let state: Mutex<State>
    private let ticksPerSecond: Double
    private let pageSize: UInt64
    private let bootTime: Double
    private let proportionalMemory: Bool

    /// - Parameters:
    ///   - groups: `profiler.processes`.
    ///   - procRoot: the proc filesystem (tests may point it elsewhere).
    ///   - proportionalMemory: also read each member's `smaps_rollup` (Pss, SwapPss).
    /// - Throws: `configurationError` naming a group whose regex does not compile.
    public init(
        groups: [ProcessGroupConfig], procRoot: String = "/proc", proportionalMemory: Bool = false
    ) throws(MonitoringError) {
        root = procRoot
        self.proportionalMemory = proportionalMemory
        matcher = try ProcessGroupMatcher(groups)
        state = Mutex(State(retired: Array(repeating: Counters(), count: groups.count)))
        ticksPerSecond = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))
        let stat = (try? ProcFile.read(procRoot + "/stat")) ?? ""
        bootTime = stat.split(separator: "\n").first { $0.hasPrefix("btime ") }
            .flatMap { Double($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) } ?? 0
    }

    /// The group names, in configuration order.
    public var groupNames: [String] { matcher.groups.map(\.name) }

    /// Reads `/proc` once and returns every group's totals, in configuration order.
    public func scan() -> [GroupTotals] {
        var reader = ProcReader(root: root)
        var samples: [ProcessSample] = []
        for pid in reader.processIDs() {
            var sample = ProcessSample(pid: pid)
            let parsed = reader.withFile(reader.path(pid, "stat")) { sample.parseStat($0) } ?? false
            if parsed { samples.append(sample) }
        }
        return state.withLock { state in
            assign(samples, state: &state, reader: &reader)
            let totals = totals(samples, state: &state, reader: &reader)
            state.latest = (Date(), totals)
            return totals
        }
    }

    /// The last scan's totals and when it was taken; `nil` before the first scan.
    public var latest: (at: Date, totals: [GroupTotals])? { state.withLock { $0.latest } }

    /// Decides the group of each process seen for the first time (parents before their children, by start time).
    private func assign(_ samples: [ProcessSample], state: inout State, reader: inout ProcReader) {
        var groupOfPID: [Int32: Int] = [:]
        for sample in samples {
            if let member = state.members[sample.identity] { groupOfPID[sample.pid] = member.group }
        }
        let fresh = samples.filter { state.members[$0.identity] == nil && !state.unmatched.contains($0.identity) }
            .sorted { $0.startTicks < $1.startTicks }
        for sample in fresh {
            var uid: UInt32?
            var userName: String?
            if matcher.needsUser {
                var status = sample
                reader.withFile(reader.path(sample.pid, "status")) { status.parseStatus($0) }
                uid = status.realUID
                userName = uid.flatMap { Self.userName($0, cache: &state.userNames) }
            }
            let (pid, root) = (sample.pid, self.root)
            var group = matcher.group(of: .init(
                comm: sample.comm, uid: uid, userName: userName,
                exe: { Self.executable(root: root, pid: pid) },
                cmdline: { Self.commandLine(root: root, pid: pid) },
                cgroup: { Self.cgroup(root: root, pid: pid) }))
            if group == nil, let parentGroup = groupOfPID[sample.parent], matcher.groups[parentGroup].trackChildren {
                group = parentGroup
            }
            if let group {
                groupOfPID[pid] = group
                let limit = reader.withFile(reader.path(pid, "limits")) { ProcParse.field($0, "Max open files") } ?? nil
                state.members[sample.identity] = Member(group: group, sample: sample, counters: Counters(), fdLimit: limit)
            } else {
                state.unmatched.insert(sample.identity)
            }
        }
    }

    /// Reads the members' `status`, `io` and `fd`, retires the processes that are gone, and sums the groups.
    private func totals(_ samples: [ProcessSample], state: inout State, reader: inout ProcReader) -> [GroupTotals] {
        var result = matcher.groups.map { name in
            var totals = GroupTotals(name: name.name)
            if proportionalMemory {
                totals.proportionalResidentBytes = 0
                totals.proportionalSwapBytes = 0
            }
            return totals
        }
        var live = Array(repeating: Counters(), count: matcher.groups.count)
        var seen = Set<ProcessSample.Identity>()
        seen.reserveCapacity(samples.count)
        for var sample in samples {
            seen.insert(sample.identity)
            guard var member = state.members[sample.identity] else { continue }
            reader.withFile(reader.path(sample.pid, "status")) { sample.parseStatus($0) }
            reader.withFile(reader.path(sample.pid, "io")) { sample.parseIO($0) }
            sample.openFDs = reader.countEntries(reader.path(sample.pid, "fd")).map { UInt64($0) }
            member.counters = Counters(sample).atLeast(member.counters)
            member.sample = sample
            state.members[sample.identity] = member
            let group = member.group
            live[group].add(member.counters)
            result[group].processes += 1
            result[group].residentBytes &+= sample.residentPages &* pageSize
            result[group].virtualBytes &+= sample.virtualBytes
            result[group].swapBytes &+= sample.swapKilobytes &* 1024
            result[group].threads &+= sample.threads
            if proportionalMemory {
                // Another user's process without CAP_SYS_PTRACE: unreadable, counted as 0 (docs/profiler.md).
                let proportional = reader.withFile(reader.path(sample.pid, "smaps_rollup")) { bytes in
                    (ProcParse.field(bytes, "Pss:") ?? 0, ProcParse.field(bytes, "SwapPss:") ?? 0)
                } ?? (0, 0)
                result[group].proportionalResidentBytes? &+= proportional.0 &* 1024
                result[group].proportionalSwapBytes? &+= proportional.1 &* 1024
            }
            if let open = sample.openFDs {
                result[group].openFDs &+= open
                if let limit = member.fdLimit, limit > 0 {
                    result[group].worstFDRatio = max(result[group].worstFDRatio, Double(open) / Double(limit))
                }
            }
            let started = bootTime + Double(sample.startTicks) / ticksPerSecond
            result[group].oldestStartTime = min(result[group].oldestStartTime ?? started, started)
        }
        for (identity, member) in state.members where !seen.contains(identity) {
            state.retired[member.group].add(member.counters)
            state.members[identity] = nil
        }
        state.unmatched.formIntersection(seen)
        for index in result.indices {
            var counters = state.retired[index]
            counters.add(live[index])
            result[index].userSeconds = Double(counters.userTicks) / ticksPerSecond
            result[index].systemSeconds = Double(counters.systemTicks) / ticksPerSecond
            result[index].readBytes = counters.readBytes
            result[index].writeBytes = counters.writeBytes
            result[index].voluntarySwitches = counters.voluntary
            result[index].involuntarySwitches = counters.involuntary
            result[index].majorFaults = counters.majorFaults
        }
        return result
    }

    /// The executable's path (`/proc/PID/exe`), or `nil` (another user's process, a kernel thread).
    static func executable(root: String, pid: Int32) -> String? {
        var target = [CChar](repeating: 0, count: 4096)
        let length = readlink(root + "/" + String(pid) + "/exe", &target, target.count)
        guard length > 0 else { return nil }
        return String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The command line with its arguments joined by spaces (at most `ProcReader.maximumFileSize` bytes).
    static func commandLine(root: String, pid: Int32) -> String? {
        var reader = ProcReader(root: root)
        return reader.withFile(reader.path(pid, "cmdline")) { bytes -> String in
            var text = [UInt8](bytes)
            while text.last == 0 { text.removeLast() }
            for index in text.indices where text[index] == 0 { text[index] = 0x20 }
            return String(decoding: text, as: UTF8.self)
        }
    }

    /// The cgroup v2 path (`0::/system.slice/x.service` → `/system.slice/x.service`).
    static func cgroup(root: String, pid: Int32) -> String? {
        var reader = ProcReader(root: root)
        return reader.withFile(reader.path(pid, "cgroup")) { bytes -> String? in
            let text = String(decoding: bytes, as: UTF8.self)
            return text.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
        } ?? nil
    }

    /// The name of user `uid` (cached), or `nil` when the system does not know it.
    static func userName(_ uid: UInt32, cache: inout [UInt32: String]) -> String? {
        if let name = cache[uid] { return name }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else {
            return nil
        }
        let text = String(cString: name)
        cache[uid] = text
        return text
    }
}
