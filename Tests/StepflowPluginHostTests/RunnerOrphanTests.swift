import Foundation
import StepflowPluginHost
import StepflowTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("A runner whose host is killed")
struct RunnerOrphanTests {
    /// Whether `pid` is a live process (a zombie waiting for its new parent to reap it counts as gone).
    private func alive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// How long `pid` has run, in seconds (its start time in `/proc/PID/stat` against `/proc/uptime`).
    private func age(_ pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"),
            let uptime = (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first
                .flatMap({ Double($0) })
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let start = Double(fields[19]) else { return nil }
        return uptime - start / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("exits within seconds of being re-parented, even though its stdin stays open")
    func exitsWhenOrphaned() async throws {
        // A shell plays the host: it starts the runner (stdin explicitly inherited, so only the host's death can
        // end it), prints the runner's pid and becomes `sleep`. The test keeps the runner's stdin open throughout.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = [
            // (A background job's stdin is /dev/null unless redirected from another descriptor.)
            "-c", #"exec 3<&0; "$0" plugin-runner --path "$1" <&3 3<&- & echo $!; exec sleep 60 3<&-"#,
            try RunnerFixtures.runner(), try PluginFixtures.filesystemCollector(),
        ]
        let input = Pipe()
        let output = Pipe()
        shell.standardInput = input
        shell.standardOutput = output
        try shell.run()
        defer { if shell.isRunning { shell.terminate() } }
        var text = ""
        while !text.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let runner = try #require(pid_t(text.split(separator: "\n").first.map(String.init) ?? ""))
        defer { if alive(runner) { kill(runner, SIGKILL) } }

        // The runner checks its parent every second: once it has lived 1.5 s, one check at least has passed.
        #expect(await eventually { (age(runner) ?? 0) >= 1.5 || !alive(runner) })
        #expect(alive(runner), "the runner must keep running while its host lives")

        // Not `waitUntilExit()`: with the runner still holding the shell's pipes, Foundation can spin in it.
        kill(shell.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while alive(runner), Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!alive(runner), "the runner outlived its host")
        withExtendedLifetime(input) {}
    }
}
