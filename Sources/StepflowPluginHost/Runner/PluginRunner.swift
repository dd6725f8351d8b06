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

/// The child side of `isolation: process`: what `stepflow-monitor plugin-runner` runs.
///
/// It applies the resource limits, loads the plugin with the same ``PluginLibrary`` and ``PluginInstance`` code
/// as the host, then serves ``RunnerFrame`` requests from stdin and answers on stdout until it is told to shut
/// down or stdin closes. Nothing but frames is ever written to stdout: the original stdout is kept for frames
/// and file descriptor 1 is pointed at stderr, so a plugin's stray `printf` ends up in the host's log.
public enum PluginRunner {
    /// Serves one plugin instance; returns the process exit status (0 after an orderly shutdown).
    ///
    /// - Parameters:
    ///   - path: the plugin's shared library.
    ///   - limits: applied with `setrlimit` before the library is loaded.
    ///   - logger: where the runner and the plugin log; should write to stderr (see ``RunnerLogHandler``).
    public static func run(
        path: String, limits: PluginLimits, sampleBudget: Int = PluginInstance.defaultSampleBudget, logger: Logger
    ) async -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        exitWhenOrphaned(logger: logger)
        let output = dup(STDOUT_FILENO)
        guard output >= 0, dup2(STDERR_FILENO, STDOUT_FILENO) >= 0 else {
            logger.critical("cannot set up the frame channel: \(String(cString: strerror(errno)))")
            return 70
        }
        _ = fcntl(output, F_SETFD, FD_CLOEXEC)

        let setup: Result<PluginLibrary, PluginError>
        if let failure = apply(limits, path: path) {
            setup = .failure(failure)
        } else {
            setup = Result { () throws(PluginError) in try PluginLibrary.load(path: path) }
        }
        let server = Server(setup: setup, path: path, output: output, sampleBudget: sampleBudget, logger: logger)
        return await server.serve()
    }

    /// How often the runner checks that its host is still alive.
    static let orphanCheckInterval: Duration = .seconds(1)

    /// Ends the runner within ``orphanCheckInterval`` of its host's death, even while a plugin call hangs.
    ///
    /// A host that exits in order closes the runner's stdin, which ends the request loop; a host that is killed
    /// does too, but a runner inside a plugin call that never returns would not see it. A thread of its own
    /// watches for the runner being re-parented (the host gone) and exits the process then. (`PR_SET_PDEATHSIG`
    /// is not used: it fires when the host *thread* that spawned the runner exits, and the host spawns runners
    /// from pool threads that come and go.)
    static func exitWhenOrphaned(logger: Logger) {
        let parent = getppid()
        let interval = UInt32(orphanCheckInterval.components.seconds)
        let watcher = Thread {
            while true {
                sleep(interval)
                if getppid() != parent {
                    logger.warning("the host (pid \(parent)) is gone; the runner exits")
                    _exit(0)
                }
            }
        }
        watcher.name = "stepflow.plugin-runner.orphan-watch"
        watcher.start()
    }

    /// Sets `RLIMIT_AS` and `RLIMIT_CPU`; returns the error when one cannot be set.
    static func apply(_ limits: PluginLimits, path: String) -> PluginError? {
        func set(_ resource: Int32, _ value: Int, _ name: String) -> PluginError? {
            var limit = rlimit(rlim_cur: rlim_t(value), rlim_max: rlim_t(value))
            #if canImport(Glibc)
                let status = setrlimit(__rlimit_resource_t(UInt32(resource)), &limit)
            #else
                let status = setrlimit(resource, &limit)
            #endif
            guard status == 0 else {
                return PluginError(
                    .createFailed, plugin: nil, path: path,
                    message: "setrlimit(\(name), \(value)) failed: \(String(cString: strerror(errno)))",
                    hint: "the limit may exceed the hard limit of the host; lower `limits` or raise `ulimit -H`")
            }
            return nil
        }
        if let bytes = limits.memoryBytes, let error = set(Int32(RLIMIT_AS.rawValue), bytes, "RLIMIT_AS") {
            return error
        }
        if let seconds = limits.cpuSeconds, let error = set(Int32(RLIMIT_CPU.rawValue), seconds, "RLIMIT_CPU") {
            return error
        }
        return nil
    }

    /// The request loop, on a thread of its own: it reads a request, answers it and reads the next, so a
    /// collection costs no hop between threads in the runner. The few calls that are `async` (creating the
    /// instance, exporting logs, notifying) are awaited from that thread with ``blocking(_:)``.
    private final class Server: Sendable {
        let setup: Result<PluginLibrary, PluginError>
        let path: String
        let output: Int32
        let sampleBudget: Int
        let logger: Logger

        init(
            setup: Result<PluginLibrary, PluginError>, path: String, output: Int32, sampleBudget: Int, logger: Logger
        ) {
            self.setup = setup
            self.path = path
            self.output = output
            self.sampleBudget = sampleBudget
            self.logger = logger
        }

        func serve() async -> Int32 {
            await withCheckedContinuation { continuation in
                let thread = Thread { continuation.resume(returning: self.loop()) }
                thread.name = "stepflow.plugin-runner"
                thread.start()
            }
        }

        /// Runs `operation` on the cooperative pool and waits for it on the request thread.
        private func blocking<Value: Sendable>(_ operation: @escaping @Sendable () async -> Value) -> Value {
            let result = Mutex<Value?>(nil)
            let done = DispatchSemaphore(value: 0)
            Task {
                let value = await operation()
                result.withLock { $0 = value }
                done.signal()
            }
            done.wait()
            return result.withLock { $0! }
        }

        private func loop() -> Int32 {
            var instance: PluginInstance?
            var encoder = RunnerMetricsCodec.Encoder()
            while true {
                let frame: RunnerFrame
                do throws(RunnerIOFailure) {
                    frame = try RunnerFrameIO.read(from: STDIN_FILENO, pollInterval: -1)
                } catch .endOfStream {
                    shutDown(instance)
                    return 0
                } catch {
                    logger.error("cannot read a request from the host: \(error)")
                    shutDown(instance)
                    return 65
                }
                let reply: RunnerFrame
                switch frame.kind {
                case .create:
                    reply = create(frame.payload, existing: &instance)
                case .collect:
                    guard let instance else {
                        reply = notCreated("collect_metrics")
                        break
                    }
                    do throws(PluginError) {
                        let batch = try instance.collectMetricsBlocking()
                        reply = RunnerFrame(.metrics, payload: encoder.encode(batch, refused: instance.refusedSamples))
                    } catch {
                        reply = RunnerFrame(.error, payload: RunnerCodec.errorReply(error))
                    }
                case .metricNames:
                    guard let instance else {
                        reply = notCreated("metric_names")
                        break
                    }
                    reply = blocking {
                        do throws(PluginError) {
                            return RunnerFrame(.names, payload: RunnerCodec.namesReply(try await instance.metricNames()))
                        } catch {
                            return RunnerFrame(.error, payload: RunnerCodec.errorReply(error))
                        }
                    }
                case .shutdown:
                    shutDown(instance)
                    return 0
                case .exportLogs, .notify, .acknowledge:
                    guard let instance else {
                        reply = notCreated("\(frame.kind)")
                        break
                    }
                    reply = blocking { await self.forward(frame, to: instance) }
                case .describe:
                    switch setup {
                    case .success(let library):
                        reply = RunnerFrame(.descriptor, payload: RunnerCodec.descriptorReply(library.info))
                    case .failure(let failure):
                        reply = RunnerFrame(.error, payload: RunnerCodec.errorReply(failure))
                    }
                case .ok, .error, .metrics, .names, .descriptor:
                    reply = RunnerFrame(
                        .error,
                        payload: RunnerCodec.errorReply(
                            PluginError(
                                .callFailed, plugin: instance?.name, path: path,
                                message: "the runner received a reply frame (\(frame.kind)) as a request")))
                }
                do throws(RunnerIOFailure) {
                    try RunnerFrameIO.write(reply, to: output)
                } catch {
                    logger.error("cannot write a reply to the host: \(error)")
                    shutDown(instance)
                    return 74
                }
            }
        }

        private func shutDown(_ instance: PluginInstance?) {
            guard let instance else { return }
            blocking { await instance.shutdown() }
        }

        private func create(_ payload: [UInt8], existing instance: inout PluginInstance?) -> RunnerFrame {
            do throws(PluginError) {
                let library = try setup.get()
                guard instance == nil else {
                    throw PluginError(
                        .createFailed, plugin: instance?.name, path: path,
                        message: "the runner already holds an instance")
                }
                let request: (name: String, settings: [(name: String, value: String)])
                do throws(RunnerCodecError) {
                    request = try RunnerCodec.decodeCreateRequest(payload)
                } catch {
                    throw PluginError(
                        .createFailed, plugin: nil, path: path, message: "malformed create request: \(error)")
                }
                var settings: [String: JSONValue] = [:]
                for setting in request.settings { settings[setting.name] = .string(setting.value) }
                let (logger, budget, name) = (self.logger, sampleBudget, request.name)
                let created = blocking { [settings] () async -> Result<PluginInstance, PluginError> in
                    do throws(PluginError) {
                        return .success(
                            try await PluginInstance(
                                library: library, name: name, settings: settings, logger: logger, sampleBudget: budget))
                    } catch {
                        return .failure(error)
                    }
                }
                instance = try created.get()
                return RunnerFrame(.ok)
            } catch {
                return RunnerFrame(.error, payload: RunnerCodec.errorReply(error))
            }
        }

        /// Runs a log-exporter or notifier request on the instance.
        private func forward(_ frame: RunnerFrame, to instance: PluginInstance) async -> RunnerFrame {
            do {
                switch frame.kind {
                case .exportLogs:
                    try await instance.exportLogs(try RunnerCodec.decodeExportLogsRequest(frame.payload))
                case .notify:
                    try await instance.sendNotification(try RunnerCodec.decodeNotifyRequest(frame.payload))
                default:
                    let request = try RunnerCodec.decodeAcknowledgeRequest(frame.payload)
                    try await instance.sendAcknowledgment(
                        alertID: request.alertID, user: request.user, message: request.message)
                }
                return RunnerFrame(.ok)
            } catch let error as PluginError {
                return RunnerFrame(.error, payload: RunnerCodec.errorReply(error))
            } catch {
                return RunnerFrame(
                    .error,
                    payload: RunnerCodec.errorReply(
                        PluginError(.callFailed, plugin: instance.name, path: path, message: "malformed request: \(error)")))
            }
        }

        private func notCreated(_ call: String) -> RunnerFrame {
            RunnerFrame(
                .error,
                payload: RunnerCodec.errorReply(
                    PluginError(
                        .unsupported, plugin: nil, path: path,
                        message: "\(call) was refused: the instance was not created")))
        }
    }
}
