import Dispatch
import Foundation
import Logging
import StepflowCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One running `stepflow-monitor plugin-runner` child: its pipes, a serial queue for the blocking frame I/O,
/// and how it ended. A new `RunnerProcess` is launched for every restart; a dead one is never reused.
final class RunnerProcess: Sendable {
    private struct State {
        var abandoned = false
        var termination: RunnerTermination?
        /// From the moment a request is written until its reply is read: a death then belongs to that request.
        var awaitingReply = false
        /// Called once when the runner exits (see ``onExit(_:)``).
        var exitHandler: (@Sendable (RunnerTermination) -> Void)?
    }

    /// What the termination handler (which must not capture `self`) shares with the runner.
    private final class Shared: Sendable {
        let state = Mutex(State())
        let exited = DispatchSemaphore(value: 0)
    }

    let pid: Int32
    private let process: Process
    private let requests: FileHandle
    private let replies: FileHandle
    private let io: DispatchQueue
    private let shared = Shared()
    private let forwarder: RunnerLogForwarder
    /// The strings this runner has sent with its `metrics` replies (see ``RunnerMetricsCodec``).
    private let metricsDecoder = Mutex(RunnerMetricsCodec.Decoder())

    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    /// `F_SETPIPE_SZ` (Linux), which Glibc's module does not export.
    private static let setPipeSize: Int32 = 1031

    /// Starts `executable plugin-runner --path <library> [limits]` with pipes on stdin, stdout and stderr.
    ///
    /// SIGPIPE is ignored in the host from the first launch on, so writing to a runner that just died fails
    /// with `EPIPE` instead of killing the host.
    init(executable: String, arguments: [String], pluginName: String, logger: Logger) throws {
        _ = Self.ignoreSIGPIPE
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        // A crash in the plugin should end the runner at once; the Swift backtracer would spend seconds on it.
        if environment["SWIFT_BACKTRACE"] == nil { environment["SWIFT_BACKTRACE"] = "enable=no" }
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        // A 1,000-sample reply is ~150 KB; with the default 64 KB pipe the runner blocks mid-frame until the host
        // reads, costing context switches per collection. Ask for 1 MiB (Linux caps it at pipe-max-size).
        #if os(Linux)
            _ = fcntl(stdout.fileHandleForWriting.fileDescriptor, Self.setPipeSize, 1 << 20)
        #endif
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let shared = self.shared
        process.terminationHandler = { process in
            let termination = RunnerTermination(
                signal: process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil,
                status: process.terminationReason == .exit ? process.terminationStatus : nil)
            let handler = shared.state.withLock { state in
                state.termination = termination
                return state.exitHandler.take()
            }
            shared.exited.signal()
            handler?(termination)
        }
        self.forwarder = RunnerLogForwarder(handle: stderr.fileHandleForReading, pluginName: pluginName, logger: logger)
        try process.run()
        self.process = process
        self.pid = process.processIdentifier
        self.requests = stdin.fileHandleForWriting
        self.replies = stdout.fileHandleForReading
        self.io = DispatchQueue(label: "stepflow.plugin-runner.\(pluginName).\(process.processIdentifier)")
        forwarder.start()
    }

    deinit {
        if shared.state.withLock({ $0.termination == nil }) { sendSignal(SIGKILL, to: pid) }
        try? requests.close()
    }

    /// How the runner ended, once it has (`nil` while it runs).
    var termination: RunnerTermination? { shared.state.withLock { $0.termination } }

    /// Whether the host killed it (deadline, recycle, shutdown) rather than it dying by itself.
    var wasKilled: Bool { shared.state.withLock { $0.abandoned } }

    /// Whether a request was written and its reply not yet read (a death now is that request's).
    var isAwaitingReply: Bool { shared.state.withLock { $0.awaitingReply } }

    /// Runs `handler` once when the runner exits, on a thread of Foundation's; at once if it already has.
    func onExit(_ handler: @escaping @Sendable (RunnerTermination) -> Void) {
        let ended = shared.state.withLock { state -> RunnerTermination? in
            if state.termination == nil { state.exitHandler = handler }
            return state.termination
        }
        if let ended { handler(ended) }
    }

    /// Sends `request` and waits for the reply, on the runner's queue; `completion` runs there.
    /// A shutdown request gets no reply: `completion` then gets `.ok`.
    func exchange(
        _ request: RunnerFrame, completion: @escaping @Sendable (Result<RunnerFrame, RunnerIOFailure>) -> Void
    ) {
        let input = requests.fileDescriptor
        let output = replies.fileDescriptor
        io.async { [self] in
            do throws(RunnerIOFailure) {
                // Cleared only once a reply was read: a runner that dies on this request stays this request's
                // to report, whenever its exit is noticed.
                shared.state.withLock { $0.awaitingReply = true }
                try RunnerFrameIO.write(request, to: input)
                if request.kind == .shutdown {
                    completion(.success(RunnerFrame(.ok)))
                    return
                }
                let reply = try RunnerFrameIO.read(from: output) {
                    shared.state.withLock { $0.abandoned || $0.termination != nil }
                }
                shared.state.withLock { $0.awaitingReply = false }
                completion(.success(reply))
            } catch {
                completion(.failure(error))
            }
        }
    }

    /// Decodes one of this runner's `metrics` replies against the strings it has sent before.
    func decodeMetrics(_ payload: [UInt8]) throws(RunnerCodecError) -> (MetricBatch, [MetricRefusalReason: Int]) {
        try metricsDecoder.withLock { decoder throws(RunnerCodecError) in try decoder.decode(payload) }
    }

    /// Kills the runner with SIGKILL (it missed its deadline, or shutdown took too long); the reader gives up.
    func kill() {
        shared.state.withLock { $0.abandoned = true }
        if termination == nil { sendSignal(SIGKILL, to: pid) }
    }

    /// Waits up to `timeout` for the runner to exit and returns how it ended (`nil` if it is still running).
    /// Blocks: call it on a dedicated queue.
    ///
    /// Foundation's termination handler can come late: it learns of the exit when every copy of a socket the
    /// child inherited is closed, and a child another thread spawned at the same moment may hold a copy until it
    /// exits itself. So besides waiting for the handler, this peeks at the zombie with `waitid(WNOWAIT)`, which
    /// reads the status without reaping it (Foundation still reaps it).
    func waitForExit(timeout: Duration) -> RunnerTermination? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            if let termination { return termination }
            if let peeked = Self.peekExit(of: pid) { return peeked }
            guard ContinuousClock.now < deadline else { return nil }
            if shared.exited.wait(timeout: .now() + .milliseconds(10)) == .success {
                shared.exited.signal()
                return termination
            }
        }
    }

    /// How `pid` ended if it is a zombie now, read without reaping it; `nil` while it runs (or once reaped).
    private static func peekExit(of pid: Int32) -> RunnerTermination? {
        #if os(Linux)
            var info = siginfo_t()
            guard waitid(P_PID, id_t(bitPattern: pid), &info, WEXITED | WNOWAIT | WNOHANG) == 0,
                info._sifields._sigchld.si_pid == pid
            else { return nil }
            let status = info._sifields._sigchld.si_status
            switch Int(info.si_code) {
            case Int(CLD_EXITED): return RunnerTermination(signal: nil, status: status)
            case Int(CLD_KILLED), Int(CLD_DUMPED): return RunnerTermination(signal: status, status: nil)
            default: return nil
            }
        #else
            return nil
        #endif
    }

    /// Waits, off the cooperative pool, up to `timeout` for the runner to exit.
    func exit(within timeout: Duration) async -> RunnerTermination? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.waitForExit(timeout: timeout)) }
        }
    }
}

private func sendSignal(_ signal: Int32, to pid: Int32) {
    _ = kill(pid, signal)
}

/// How a runner process ended.
struct RunnerTermination: Sendable, Equatable, CustomStringConvertible {
    /// The signal that killed it, if one did.
    var signal: Int32?
    /// Its exit status, if it exited.
    var status: Int32?

    /// E.g. "runner exited on signal 11 (SIGSEGV)" or "runner exited with status 3".
    var description: String {
        if let signal { return "runner exited on signal \(signal) (\(Self.signalName(signal)))" }
        if let status { return "runner exited with status \(status)" }
        return "runner exited"
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: return "SIGHUP"
        case SIGINT: return "SIGINT"
        case SIGQUIT: return "SIGQUIT"
        case SIGILL: return "SIGILL"
        case SIGTRAP: return "SIGTRAP"
        case SIGABRT: return "SIGABRT"
        case SIGBUS: return "SIGBUS"
        case SIGFPE: return "SIGFPE"
        case SIGKILL: return "SIGKILL"
        case SIGSEGV: return "SIGSEGV"
        case SIGPIPE: return "SIGPIPE"
        case SIGTERM: return "SIGTERM"
        case SIGXCPU: return "SIGXCPU, the cpu_time limit"
        case SIGXFSZ: return "SIGXFSZ"
        case SIGSYS: return "SIGSYS"
        default: return "signal \(signal)"
        }
    }
}
