import Logging
import StepflowCore
import Synchronization

extension IsolatedPluginInstance {
    /// Loads the plugin at `path` in a short-lived `plugin-runner` and returns its validated descriptor, so that a
    /// plugin meant for `isolation: process` is never loaded into the host: one that crashes or hangs while
    /// loading (in its constructors or its `stepflow_plugin_register`) costs only that runner.
    ///
    /// - Throws: ``PluginError`` with the runner's own refusal (`notFound`, `openFailed`, `abiMismatch`, …),
    ///   `crashed` naming the signal when loading killed the runner, `timedOut` when it did not answer within
    ///   `timeout`, or `createFailed` when the runner could not be started.
    public static func describe(
        path: String, runnerExecutable: String, limits: PluginLimits = .none, timeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "stepflow.plugin")
    ) async throws(PluginError) -> PluginDescriptorInfo {
        var arguments = ["plugin-runner", "--path", path]
        if let bytes = limits.memoryBytes { arguments += ["--memory-limit", "\(bytes)"] }
        if let seconds = limits.cpuSeconds { arguments += ["--cpu-time-limit", "\(seconds)"] }
        let runner: RunnerProcess
        do {
            runner = try RunnerProcess(
                executable: runnerExecutable, arguments: arguments, pluginName: path, logger: logger)
        } catch {
            throw PluginError(
                .createFailed, plugin: nil, path: path,
                message: "cannot start the plugin runner '\(runnerExecutable)': \(error)",
                hint: "the runner is the stepflow-monitor executable itself; check that it exists and is executable")
        }
        // The exchange ends when the runner answers or dies; the deadline kills it if it does neither.
        let missedDeadline = DeadlineFlag()
        let result = await withTaskGroup(of: Result<RunnerFrame, RunnerIOFailure>?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    runner.exchange(RunnerFrame(.describe)) { continuation.resume(returning: $0) }
                }
            }
            group.addTask {
                guard (try? await Task.sleep(for: timeout)) != nil else { return nil }
                missedDeadline.value.withLock { $0 = true }
                runner.kill()
                return nil
            }
            var outcome: Result<RunnerFrame, RunnerIOFailure>?
            for await value in group where value != nil {
                outcome = value
                break
            }
            group.cancelAll()
            return outcome ?? .failure(.abandoned)
        }
        defer { runner.exchange(RunnerFrame(.shutdown)) { _ in } }
        switch result {
        case .success(let reply) where reply.kind == .descriptor:
            do throws(RunnerCodecError) {
                return try RunnerCodec.decodeDescriptorReply(reply.payload)
            } catch {
                runner.kill()
                throw PluginError(.callFailed, plugin: nil, path: path, message: "the runner's descriptor is malformed: \(error)")
            }
        case .success(let reply) where reply.kind == .error:
            let decoded: (code: PluginError.Code, message: String, hint: String?)
            do throws(RunnerCodecError) {
                decoded = try RunnerCodec.decodeErrorReply(reply.payload)
            } catch {
                throw PluginError(
                    .callFailed, plugin: nil, path: path, message: "the runner's error reply is malformed: \(error)")
            }
            throw PluginError(decoded.code, plugin: nil, path: path, message: decoded.message, hint: decoded.hint)
        case .success(let reply):
            runner.kill()
            throw PluginError(
                .callFailed, plugin: nil, path: path, message: "the runner answered describe with a \(reply.kind) frame")
        case .failure:
            let termination = await runner.exit(within: .seconds(5))
            let timedOut = missedDeadline.value.withLock { $0 }
            throw PluginError(
                timedOut ? .timedOut : .crashed, plugin: nil, path: path,
                message: timedOut
                    ? "loading the plugin did not finish within \(timeout); its runner was killed"
                    : "loading the plugin killed its runner: \(termination.map { "\($0)" } ?? "it exited")",
                hint: "the plugin crashes or hangs in its constructors or in stepflow_plugin_register; the host "
                    + "itself was not affected (isolation: process)")
        }
    }
}

/// Set when `describe`'s deadline killed the runner, so the failure reads as a timeout rather than a crash.
private final class DeadlineFlag: Sendable {
    let value = Mutex(false)
}
