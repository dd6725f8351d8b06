import Foundation
import StepflowCore
import StepflowProfiler
import StepflowTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real processes the tests start and stop.
private final class Processes {
    private(set) var started: [Process] = []

    @discardableResult
    func start(_ executable: String, _ arguments: [String]) throws -> Process {
        let process = try ChildProcess.start(executable, arguments)
        started.append(process)
        return process
    }

    /// Kills every process started, and their children first (a child left behind would keep the test runner's
    /// output open). SIGKILL: the test process blocks SIGTERM, and a child inherits that.
    deinit {
        for process in started {
            for child in ChildProcess.children(of: process.processIdentifier) { kill(child, SIGKILL) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }
}

@Suite("Process groups read from /proc")
struct ProcessGroupScannerTests {
    @Test("real processes are matched into their groups: counts, memory, threads, and the CPU of a busy one rising")
    func realProcesses() async throws {
        let marker = String(Int.random(in: 1_000_000..<9_000_000))
        let processes = Processes()
        for _ in 0..<3 { try processes.start("/bin/sleep", [marker]) }
        try processes.start("/bin/sh", ["-c", "while :; do :; done", "spin-\(marker)"])
        // A parent whose children match no group of their own: with track_children they count in its group.
        try processes.start("/bin/sh", ["-c", "/bin/sleep \(marker)1 & /bin/sleep \(marker)1 & wait", "tree-\(marker)"])
        let user = String(cString: try #require(getpwuid(getuid())).pointee.pw_name)
        let scanner = try ProcessGroupScanner(groups: [
            ProcessGroupConfig(name: "mine", match: ProcessMatch(cmdline: "/bin/sleep \(marker)", user: user)),
            ProcessGroupConfig(name: "sleepers", match: ProcessMatch(comm: "sleep", cmdline: "/bin/sleep \(marker)")),
            ProcessGroupConfig(name: "spinner", match: ProcessMatch(cmdline: ".*spin-\(marker)")),
            ProcessGroupConfig(name: "tree", match: ProcessMatch(cmdline: ".*tree-\(marker)"), trackChildren: true),
            ProcessGroupConfig(name: "nobody", match: ProcessMatch(cmdline: "/bin/sleep \(marker)", user: "no-such-user-\(marker)")),
        ])
        #expect(scanner.groupNames == ["mine", "sleepers", "spinner", "tree", "nobody"])
        // The shell of the tree starts its children in the background: wait until both are there.
        var totals = scanner.scan()
        #expect(await eventually {
            totals = scanner.scan()
            return totals[3].processes == 3
        }, "\(totals)")
        #expect(totals[0].processes == 3, "matched by user name and command line")
        #expect(totals[1].processes == 0, "a process belongs to the first group it matches only")
        #expect(totals[2].processes == 1)
        #expect(totals[4].processes == 0)
        let now = Date().timeIntervalSince1970
        for group in [totals[0], totals[2], totals[3]] {
            #expect(group.residentBytes > 0 && group.virtualBytes > group.residentBytes, "\(group)")
            #expect(group.threads >= UInt64(group.processes))
            #expect(group.openFDs >= UInt64(group.processes), "\(group)")
            #expect(group.worstFDRatio > 0 && group.worstFDRatio < 1)
            #expect(abs((group.oldestStartTime ?? 0) - now) < 120, "\(group)")
        }
        // The busy loop uses CPU; the sleepers do not.
        let spinning = totals[2].userSeconds + totals[2].systemSeconds
        #expect(await eventually(20) {
            let later = scanner.scan()
            return later[2].userSeconds + later[2].systemSeconds >= spinning + 0.3
        })
        #expect(scanner.scan()[0].userSeconds < 0.5)
    }

    @Test("proportional memory, when asked for: each member's share of the pages it maps, at most its resident set")
    func proportionalMemory() throws {
        let marker = String(Int.random(in: 1_000_000..<9_000_000))
        let processes = Processes()
        for _ in 0..<3 { try processes.start("/bin/sleep", [marker]) }
        let groups = [ProcessGroupConfig(name: "sleepers", match: ProcessMatch(cmdline: "/bin/sleep \(marker)"))]
        let with = try ProcessGroupScanner(groups: groups, proportionalMemory: true).scan()[0]
        #expect(with.processes == 3)
        let proportional = try #require(with.proportionalResidentBytes)
        // Three sleeps share libc and their executable: each counts a third of those pages.
        #expect(proportional > 0 && proportional < with.residentBytes, "\(with)")
        #expect(with.proportionalSwapBytes != nil)
        #expect(with.metrics(at: Date()).contains {
            $0.labels.contains(Label("memtype", "proportionalResident")) && $0.value == .gauge(Double(proportional))
        })
        // Off by default: not read, not reported.
        let without = try ProcessGroupScanner(groups: groups).scan()[0]
        #expect(without.proportionalResidentBytes == nil)
        #expect(!without.metrics(at: Date()).contains { $0.labels.contains(Label("memtype", "proportionalResident")) })
    }

    @Test("a member that exits keeps its counters in the group, and a reused PID is a new process")
    func monotonicCounters() throws {
        let root = Scratch.root + "fake-proc-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        func stat(pid: Int32, comm: String = "worker", start: Int, user: Int, system: Int) throws {
            try FileManager.default.createDirectory(atPath: "\(root)/\(pid)", withIntermediateDirectories: true)
            // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime
            // cstime priority nice threads itreal starttime vsize rss
            let line = "\(pid) (\(comm)) S 1 1 1 0 -1 0 0 0 7 0 \(user) \(system) 0 0 20 0 2 0 \(start) 1000000 100\n"
            try line.write(toFile: "\(root)/\(pid)/stat", atomically: true, encoding: .utf8)
            try "Name:\t\(comm)\nUid:\t1000\t1000\t1000\t1000\nVmSwap:\t      8 kB\nvoluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t2\n"
                .write(toFile: "\(root)/\(pid)/status", atomically: true, encoding: .utf8)
            try "rchar: 1\nwchar: 1\nread_bytes: 4096\nwrite_bytes: 8192\n"
                .write(toFile: "\(root)/\(pid)/io", atomically: true, encoding: .utf8)
        }
        try "cpu  1 2 3\nbtime 1700000000\n".write(toFile: root + "/stat", atomically: true, encoding: .utf8)
        try stat(pid: 100, start: 500, user: 300, system: 100)
        try stat(pid: 200, start: 600, user: 100, system: 0)
        try stat(pid: 300, comm: "other", start: 700, user: 999, system: 999)
        let scanner = try ProcessGroupScanner(
            groups: [ProcessGroupConfig(name: "workers", match: ProcessMatch(comm: "worker"))], procRoot: root)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var workers = scanner.scan()[0]
        #expect(workers.processes == 2)
        #expect(workers.userSeconds == 400 / ticks && workers.systemSeconds == 100 / ticks)
        #expect(workers.readBytes == 8192 && workers.writeBytes == 16384)
        #expect(workers.voluntarySwitches == 10 && workers.involuntarySwitches == 4 && workers.majorFaults == 14)
        #expect(workers.swapBytes == 16 * 1024 && workers.threads == 4 && workers.virtualBytes == 2_000_000)
        #expect(workers.oldestStartTime == 1_700_000_000 + 500 / ticks)
        let series = workers.metrics(at: Date())
        #expect(Set(series.map(\.name)).count == 11)
        #expect(series.allSatisfy { $0.name.hasPrefix("stepflow_process_group_") && $0.labels.contains(Label("group", "workers")) })
        let user = series.first { $0.name == "stepflow_process_group_cpu_seconds_total" && $0.labels.contains(Label("mode", "user")) }
        #expect(user?.value == .counter(400 / ticks))

        // PID 100 exits and the kernel gives its PID to a new worker with lower counters; PID 200 exits for good.
        try FileManager.default.removeItem(atPath: "\(root)/200")
        try stat(pid: 100, start: 900, user: 10, system: 0)
        workers = scanner.scan()[0]
        #expect(workers.processes == 1)
        #expect(workers.userSeconds == (300 + 100 + 10) / ticks, "the exited members' CPU stays in the total")
        #expect(workers.systemSeconds == 100 / ticks)
        #expect(workers.oldestStartTime == 1_700_000_000 + 900 / ticks)
        #expect(workers.readBytes == 3 * 4096)

        // Malformed files are skipped, never fatal: a stat without its parenthesis, an empty one, binary garbage.
        try FileManager.default.createDirectory(atPath: "\(root)/400", withIntermediateDirectories: true)
        try "400 worker S 1".write(toFile: "\(root)/400/stat", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(root)/401", withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: "\(root)/401/stat"))
        try FileManager.default.createDirectory(atPath: "\(root)/402", withIntermediateDirectories: true)
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: "\(root)/402/stat"))
        try stat(pid: 403, start: 950, user: 99_999_999_999_999_999, system: 0)
        workers = scanner.scan()[0]
        #expect(workers.processes == 2)
    }

    @Test("a group regex that does not compile is refused, naming the group and the criterion")
    func badRegex() {
        #expect {
            _ = try ProcessGroupScanner(groups: [ProcessGroupConfig(name: "web", match: ProcessMatch(cmdline: "nginx[")) ])
        } throws: { error in
            "\(error)".contains("web") && "\(error)".contains("cmdline")
        }
    }
}
