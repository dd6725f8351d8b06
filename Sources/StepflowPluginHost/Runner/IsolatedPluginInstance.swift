import Foundation
import Logging
import StepflowCore
import Synchronization

/// A metrics-collector plugin run in a child `stepflow-monitor plugin-runner` process (`isolation: process`).
///
/// The runner loads the same shared library through the same ABI code as an in-process ``PluginInstance``; the
/// host talks to it over pipes with ``RunnerFrame``s. What the isolation buys:
/// - a call that misses its deadline (the awaiting task is cancelled) returns `timedOut` at once and the runner
///   is killed with SIGKILL, so ``isBusy`` stays false; the next call starts a new runner;
/// - a runner that dies during a call (a segfault, an abort, an exit) costs that call a `crashed` error naming
///   the signal; the runner is started again lazily, before the next call, after a capped exponential backoff
///   (``RunnerRestartPolicy``). While the backoff lasts, calls fail at once saying when the next restart is.
///
/// Blocking pipe I/O runs on each runner's own serial queue, never on the Swift cooperative pool.
public final class IsolatedPluginInstance: PluginCollector, Sendable {
    /// The instance name (the config's `name`, or the plugin's own name).
    public let name: String
    /// The plugin's validated descriptor, as the host read it.
    public let info: PluginDescriptorInfo
    /// Always `.process`.
    public var isolation: PluginIsolation { .process }
    /// The executable started as the runner (`<it> plugin-runner …`).
    public let runnerExecutable: String
    /// The resource limits the runner applies before loading the plugin.
    public let limits: PluginLimits
    /// The most samples one collection may hand over; the runner refuses the rest as `overBudget`.
    public let sampleBudget: Int
    /// When a crashed runner is started again.
    public let restartPolicy: RunnerRestartPolicy

    private struct State {
        var runner: RunnerProcess?
        var callInFlight: String?
        var isShutDown = false
        var launches = 0
        var consecutiveCrashes = 0
        /// Calls in a row the plugin answered with an error (reset by a call that succeeds).
        var consecutiveFailures = 0
        var lastCrash: ContinuousClock.Instant?
        var nextStart: ContinuousClock.Instant?
        var lastFailure: String?
        var refusedByDeadRunners: [MetricRefusalReason: Int] = [:]
        var refusedByRunner: [MetricRefusalReason: Int] = [:]
        /// Calls, samples, bytes and memory; CPU is ``deadRunnersCPU`` plus the current runner's.
        var usage = PluginUsage()
        /// CPU seconds of the runners that are gone.
        var deadRunnersCPU: Double = 0
        /// The current runner's CPU seconds as last read, and its pid.
        var runnerCPU: (pid: Int32, seconds: Double)?
    }

    private let settings: [(name: String, value: String)]
    private let logger: Logger
    /// The time restart backoffs are measured on (tests pass a clock they move).
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())
    /// The strings of earlier replies (names, labels, HELP), so repeated ones are not decoded again.

    /// The running executable (`/proc/self/exe` resolved): what the host passes as ``runnerExecutable``.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts the runner and creates the instance in it.
    ///
    /// - Parameters:
    ///   - info: the plugin's descriptor; the runner loads `info.resolvedPath`.
    ///   - name: the instance name; defaults to the plugin's own name.
    ///   - settings: the config's `settings:` map, passed to `create` as text pairs.
    ///   - limits: `RLIMIT_AS` / `RLIMIT_CPU` for the runner.
    ///   - sampleBudget: the most samples one collection may hand over (`budgets.metrics_per_collection`).
    ///   - runnerExecutable: a `stepflow-monitor` executable (the host passes ``currentExecutable``).
    ///   - restartPolicy: the backoff between restarts after crashes.
    ///   - now: the time that backoff is measured on; the continuous clock unless a test moves its own.
    ///   - logger: the host's logger; runner log lines and crashes are logged with `plugin=<name>`.
    /// - Throws: ``PluginError`` `createFailed` with the plugin's own message (or why the runner could not
    ///   start), `crashed` when the runner died during `create`, `timedOut` when the calling task is cancelled.
    public init(
        info: PluginDescriptorInfo,
        name: String? = nil,
        settings: [String: JSONValue] = [:],
        limits: PluginLimits = .none,
        sampleBudget: Int = PluginInstance.defaultSampleBudget,
        runnerExecutable: String,
        restartPolicy: RunnerRestartPolicy = .default,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        logger: Logger = Logger(label: "stepflow.plugin")
    ) async throws(PluginError) {
        self.now = now
        let instanceName = name ?? info.name
        var logger = logger
        logger[metadataKey: "plugin"] = "\(instanceName)"
        self.name = instanceName
        self.info = info
        self.limits = limits
        self.sampleBudget = sampleBudget
        self.runnerExecutable = runnerExecutable
        self.restartPolicy = restartPolicy
        self.logger = logger
        self.settings = settings.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value.settingText) }
        state.withLock { $0.callInFlight = "create" }
        defer { state.withLock { $0.callInFlight = nil } }
        do throws(PluginError) {
            let runner = try await start()
            state.withLock { $0.runner = runner }
        } catch {
            state.withLock { $0.isShutDown = true }
            throw error
        }
    }

    /// Whether a call is running. A call abandoned at its deadline does not count: its runner was killed.
    public var isBusy: Bool { state.withLock { $0.callInFlight != nil } }

    /// How many samples were refused so far, by reason, over all runners.
    public var refusedSamples: [MetricRefusalReason: Int] {
        state.withLock { $0.refusedByDeadRunners.merging($0.refusedByRunner, uniquingKeysWith: +) }
    }

    /// How many times a runner was started again after a crash or a missed deadline.
    public var restarts: Int { state.withLock { max(0, $0.launches - 1) } }

    /// The runners' CPU (carried over restarts), the current runner's resident memory, samples and reply bytes.
    public var usage: PluginUsage {
        state.withLock { state in
            var usage = state.usage
            usage.cpuSeconds = state.deadRunnersCPU + (state.runnerCPU?.seconds ?? 0)
            return usage
        }
    }

    /// Reads the runner's CPU time and resident memory from `/proc` (on the runner's queue, after a reply).
    private func sampleUsage(of runner: RunnerProcess, replyBytes: Int) {
        let stat = (try? ProcFile.read("/proc/\(runner.pid)/stat")).flatMap(ProcessStatLine.init)
        let cpu = stat?.cpuSeconds
        let resident = stat?.residentBytes
        state.withLock { state in
            state.usage.calls &+= 1
            state.usage.bytes &+= UInt64(max(0, replyBytes))
            guard state.runner === runner || state.runner == nil else { return }
            if let cpu { state.runnerCPU = (runner.pid, cpu) }
            if let resident, resident >= 0, resident < 1e18 { state.usage.memoryBytes = UInt64(resident) }
        }
    }

    /// Calls the plugin's `collect_metrics` in the runner.
    ///
    /// - Throws: ``PluginError`` `callFailed` with the plugin's message, `crashed` when the runner died (or is in
    ///   its restart backoff), `timedOut` when the awaiting task is cancelled (the runner is then killed),
    ///   `busy` when a call is running, `unsupported` after ``shutdown()``.
    public func collectMetrics() async throws(PluginError) -> MetricBatch {
        guard info.capabilities.contains(.metricsCollector) else {
            throw error(.unsupported, "the plugin is not a metrics collector (capabilities: \(info.capabilities))")
        }
        let (reply, runner) = try await call("collect_metrics", RunnerFrame(.collect), expecting: .metrics)
        do throws(RunnerCodecError) {
            let (batch, refused) = try runner.decodeMetrics(reply.payload)
            state.withLock {
                $0.refusedByRunner = refused
                $0.usage.samples &+= UInt64(batch.count)
            }
            return batch
        } catch {
            // The runner's string table and ours may now disagree: start over with a new runner.
            runner.kill()
            retire(runner)
            throw self.error(
                .callFailed, "the runner's collect_metrics reply is malformed (\(error)); the runner was restarted")
        }
    }

    /// Calls the plugin's optional `metric_names` in the runner.
    ///
    /// - Throws: ``PluginError`` `unsupported` when the plugin does not implement it, otherwise as
    ///   ``collectMetrics()``.
    public func metricNames() async throws(PluginError) -> [String] {
        guard info.listsMetricNames else {
            throw error(.unsupported, "the plugin does not implement the optional metric_names call")
        }
        let (reply, _) = try await call("metric_names", RunnerFrame(.metricNames), expecting: .names)
        do throws(RunnerCodecError) {
            return try RunnerCodec.decodeNamesReply(reply.payload)
        } catch {
            throw self.error(.callFailed, "the runner's metric_names reply is malformed: \(error)")
        }
    }

    /// Asks the runner to destroy the instance and exit; kills it if it has not exited within 2 seconds.
    /// New calls fail with `unsupported`. Calling it again returns at once.
    public func shutdown() async {
        let runner = state.withLock { state -> RunnerProcess? in
            guard !state.isShutDown else { return nil }
            state.isShutDown = true
            defer { state.runner = nil }
            return state.runner
        }
        guard let runner else { return }
        runner.exchange(RunnerFrame(.shutdown)) { _ in }
        if await runner.exit(within: .seconds(2)) == nil {
            logger.warning("plugin runner did not exit after shutdown; killing it", metadata: ["pid": "\(runner.pid)"])
            runner.kill()
            _ = await runner.exit(within: .seconds(5))
        }
    }

    // MARK: - Calls

    /// A request that returns nothing (`ok`), refused up front when the plugin lacks `capability`.
    func request(_ name: String, capability: PluginCapabilities, _ frame: RunnerFrame) async throws(PluginError) {
        guard info.capabilities.contains(capability) else {
            throw error(.unsupported, "the plugin does not implement \(name) (capabilities: \(info.capabilities))")
        }
        _ = try await call(name, frame, expecting: .ok)
    }

    /// Runs one request: checks the state, (re)starts the runner when needed, exchanges the frames.
    private func call(_ call: String, _ request: RunnerFrame, expecting kind: RunnerFrame.Kind)
        async throws(PluginError) -> (reply: RunnerFrame, runner: RunnerProcess)
    {
        guard !Task.isCancelled else {
            throw error(.timedOut, "\(call) was not started: the calling task was already cancelled")
        }
        let now = self.now()
        let current = try state.withLock { state throws(PluginError) -> RunnerProcess? in
            if state.isShutDown { throw error(.unsupported, "\(call) was refused: the instance has been shut down") }
            if let inFlight = state.callInFlight {
                throw error(.busy, "\(call) was refused: the previous call (\(inFlight)) has not returned yet")
            }
            if state.runner == nil, let next = state.nextStart, now < next {
                throw PluginError(
                    .crashed, plugin: name, path: info.path,
                    message:
                        "\(call) was refused: the plugin runner failed \(state.consecutiveCrashes) time(s) in a row "
                        + "(last: \(state.lastFailure ?? "unknown")); "
                        + "the next restart is in \(Self.format(now.duration(to: next)))",
                    hint:
                        "the runner is restarted with backoff; see the plugin's log lines (plugin=\(name)) "
                        + "and fix the plugin"
                )
            }
            state.callInFlight = call
            return state.runner
        }
        defer { state.withLock { $0.callInFlight = nil } }

        let runner: RunnerProcess
        if let current {
            runner = current
        } else {
            runner = try await start()
            state.withLock { $0.runner = runner }
        }
        let reply = try await exchange(call, request, with: runner)
        if reply.kind == .error { throw recycleIfFailing(runner, remoteError(reply), call: call) }
        state.withLock { $0.consecutiveFailures = 0 }
        guard reply.kind == kind else {
            runner.kill()
            throw recordFailure(
                of: runner, call: call, reason: "the runner answered \(call) with a \(reply.kind) frame")
        }
        return (reply, runner)
    }

    /// Launches a runner and sends it `create`; on failure the runner is gone and the failure recorded.
    private func start() async throws(PluginError) -> RunnerProcess {
        var arguments = ["plugin-runner", "--path", info.resolvedPath]
        if let bytes = limits.memoryBytes { arguments += ["--memory-limit", "\(bytes)"] }
        if let seconds = limits.cpuSeconds { arguments += ["--cpu-time-limit", "\(seconds)"] }
        arguments += ["--sample-budget", "\(sampleBudget)"]
        let runner: RunnerProcess
        do {
            runner = try RunnerProcess(
                executable: runnerExecutable, arguments: arguments, pluginName: name, logger: logger)
        } catch {
            let failure = PluginError(
                .createFailed, plugin: name, path: info.path,
                message: "cannot start the plugin runner '\(runnerExecutable)': \(error)",
                hint: "the runner is the stepflow-monitor executable itself; check that it exists and is executable")
            recordCrash(failure.message)
            throw failure
        }
        let launches = state.withLock { state -> Int in
            state.launches += 1
            return state.launches
        }
        runner.onExit { [weak self, weak runner] termination in
            if let self, let runner { self.runnerExited(runner, termination) }
        }
        if launches > 1 {
            logger.notice("plugin runner restarted", metadata: ["pid": "\(runner.pid)", "restarts": "\(launches - 1)"])
        }
        let reply = try await exchange(
            "create", RunnerFrame(.create, payload: RunnerCodec.createRequest(name: name, settings: settings)),
            with: runner)
        switch reply.kind {
        case .ok:
            return runner
        case .error:
            let failure = remoteError(reply)
            runner.kill()
            recordCrash(failure.message)
            throw failure
        default:
            runner.kill()
            throw recordFailure(
                of: runner, call: "create", reason: "the runner answered create with a \(reply.kind) frame")
        }
    }

    /// Sends a frame and awaits the reply; returns `timedOut` at once (and kills the runner) when the awaiting
    /// task is cancelled, and `crashed` when the runner dies first.
    private func exchange(_ call: String, _ request: RunnerFrame, with runner: RunnerProcess) async throws(PluginError)
        -> RunnerFrame
    {
        let once = ResumeOnce<RunnerFrame>()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: ResumeOnce<RunnerFrame>.Continuation) in
                once.install(continuation)
                runner.exchange(request) { result in
                    switch result {
                    case .success(let reply):
                        self.sampleUsage(of: runner, replyBytes: reply.payload.count)
                        once.resume(with: .success(reply))
                    case .failure(let failure):
                        // On the runner's own queue: waiting for the exit status here blocks no one else.
                        let termination = runner.waitForExit(timeout: .seconds(5))
                        let reason = termination.map { "\($0)" } ?? "the runner's pipe failed: \(failure)"
                        once.resume(
                            with: .failure(
                                PluginError(.crashed, plugin: self.name, path: self.info.path, message: reason)))
                    }
                }
            }
        } onCancel: {
            // Resume first: killing the runner first would let the reader report the death as a crash.
            once.resume(
                with: .failure(
                    PluginError(
                        .timedOut, plugin: name, path: info.path,
                        message: "\(call) did not return before the calling task was cancelled (its deadline); "
                            + "the plugin runner was killed and is restarted at the next call",
                        hint: "raise the plugin's `timeout`, or fix the plugin so that the call returns sooner")))
            runner.kill()
        }
        switch outcome {
        case .success(let reply):
            return reply
        case .failure(let failure) where failure.code == .timedOut:
            retire(runner)
            logger.warning(
                "plugin runner killed: it missed its deadline", metadata: ["call": "\(call)", "pid": "\(runner.pid)"])
            throw failure
        case .failure(let failure):
            throw recordFailure(of: runner, call: call, reason: failure.message)
        }
    }

    /// A runner that died on its own with no request outstanding (a thread of the plugin, after the runner had
    /// answered the previous call) is reported now, as a crash between calls, rather than against the next call.
    private func runnerExited(_ runner: RunnerProcess, _ termination: RunnerTermination) {
        // A death during a request is that request's to report (the exchange sees the pipe fail).
        guard !runner.wasKilled, !runner.isAwaitingReply else { return }
        let current = state.withLock { state in state.runner === runner && !state.isShutDown }
        guard current else { return }
        retire(runner)
        let reason = "\(termination) between calls, after the previous call had returned (a thread of the plugin?)"
        let delay = recordCrash(reason)
        logger.error(
            "plugin runner crashed between calls",
            metadata: ["reason": "\(reason)", "restart_in": "\(Self.format(delay))", "pid": "\(runner.pid)"])
    }

    /// Forgets a dead (or killed) runner, keeping its refusal counts.
    private func retire(_ runner: RunnerProcess) {
        state.withLock { state in
            if state.runner === runner { state.runner = nil }
            if let cpu = state.runnerCPU, cpu.pid == runner.pid {
                state.deadRunnersCPU += cpu.seconds
                state.runnerCPU = nil
                state.usage.memoryBytes = nil
            }
            state.refusedByDeadRunners.merge(state.refusedByRunner, uniquingKeysWith: +)
            state.refusedByRunner = [:]
        }
    }

    /// Counts a failed call; after `limits.recycle_after_failures` in a row, or at once for `STEPFLOW_ERR_NOMEM`,
    /// kills the runner and schedules its restart with backoff, as after a crash. Returns the call's error.
    private func recycleIfFailing(_ runner: RunnerProcess, _ failure: PluginError, call: String) -> PluginError {
        guard failure.code == .callFailed || failure.code == .outOfMemory else { return failure }
        let failures = state.withLock { state -> Int in
            state.consecutiveFailures += 1
            return state.consecutiveFailures
        }
        let reason: String
        if failure.code == .outOfMemory {
            reason = "the plugin reported a failed allocation (STEPFLOW_ERR_NOMEM)"
        } else if let limit = limits.failuresBeforeRecycle, failures >= limit {
            reason = "\(failures) calls in a row failed (limits.recycle_after_failures is \(limit))"
        } else {
            return failure
        }
        state.withLock { $0.consecutiveFailures = 0 }
        runner.kill()
        retire(runner)
        let delay = recordCrash(reason)
        logger.warning(
            "plugin runner recycled: a fresh process is started after the backoff",
            metadata: [
                "call": "\(call)", "reason": "\(reason)", "restart_in": "\(Self.format(delay))",
                "last_error": "\(failure.message)",
            ])
        return PluginError(
            failure.code, plugin: name, path: info.path,
            message: "\(failure.message); \(reason), so the runner is restarted in \(Self.format(delay))",
            hint: failure.hint ?? crashHint)
    }

    /// Retires a runner that died or broke the protocol, schedules its restart and returns the call's error.
    private func recordFailure(of runner: RunnerProcess, call: String, reason: String) -> PluginError {
        retire(runner)
        let delay = recordCrash(reason)
        // A call cut short by shutdown() killing its runner is expected, not a crash worth an error line.
        let level: Logger.Level = state.withLock { $0.isShutDown } ? .debug : .error
        logger.log(
            level: level, "plugin runner crashed",
            metadata: ["call": "\(call)", "reason": "\(reason)", "restart_in": "\(Self.format(delay))"])
        return PluginError(
            .crashed, plugin: name, path: info.path,
            message: "\(call) failed: \(reason); the runner is restarted in \(Self.format(delay))",
            hint: crashHint)
    }

    /// What to do about a crashed runner; names the limits, which a crash may come from.
    private var crashHint: String {
        var hint = "the host is unaffected; see the plugin's log lines (plugin=\(name)) and fix the plugin"
        if let bytes = limits.memoryBytes {
            hint += "; the runner has limits.memory = \(bytes) bytes, and a crash while allocating (even while "
                + "creating the plugin) may mean the limit is too low: the runner itself takes 500–570 MiB of address space"
        }
        if let seconds = limits.cpuSeconds {
            hint += "; SIGXCPU or SIGKILL may mean the runner used up limits.cpu_time (\(seconds)s)"
        }
        return hint
    }

    /// Counts a crash and sets when the next start may happen; returns the backoff delay.
    @discardableResult
    private func recordCrash(_ reason: String) -> Duration {
        let now = self.now()
        return state.withLock { state in
            if let last = state.lastCrash, last.duration(to: now) > restartPolicy.stableAfter {
                state.consecutiveCrashes = 0
            }
            state.consecutiveCrashes += 1
            state.lastCrash = now
            state.lastFailure = reason
            let delay = restartPolicy.delay(afterConsecutiveCrashes: state.consecutiveCrashes)
            state.nextStart = now.advanced(by: delay)
            return delay
        }
    }

    private func remoteError(_ reply: RunnerFrame) -> PluginError {
        do throws(RunnerCodecError) {
            let (code, message, hint) = try RunnerCodec.decodeErrorReply(reply.payload)
            return PluginError(code, plugin: name, path: info.path, message: message, hint: hint)
        } catch {
            return self.error(.callFailed, "the runner's error reply is malformed: \(error)")
        }
    }

    private func error(_ code: PluginError.Code, _ message: String, hint: String? = nil) -> PluginError {
        PluginError(code, plugin: name, path: info.path, message: message, hint: hint)
    }

    private static func format(_ duration: Duration) -> String {
        let milliseconds = max(0, duration / .milliseconds(1))
        return milliseconds >= 1000 ? String(format: "%.1fs", milliseconds / 1000) : "\(Int(milliseconds))ms"
    }
}
