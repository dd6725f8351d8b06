import ArgumentParser
import CStepflowSystem
import Foundation
import Logging
import StepflowConfig
import StepflowRuntime
import StepflowSecurity

/// `stepflow-monitor run`: the long-lived host.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the monitoring host until SIGINT or SIGTERM (the default command)."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigurationLoader.load(path: options.path)
        } catch {
            FileHandle.standardError.write(Data("stepflow-monitor: the configuration is invalid:\n\(error.detailedDescription)\n".utf8))
            throw ExitCode(2)
        }
        // The host's own log is masked like everything it stores (security.redact_keys, redact_values; the loader
        // has already refused a pattern that does not compile).
        let redactor = (try? Redactor(security: loaded.configuration.security)) ?? Redactor()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return RedactingLogHandler(wrapped: handler, redactor: redactor)
        }
        let logger = Logger(label: "stepflow-monitor")
        // Every file the host creates from here on (database, WAL, lock, exports, rotated logs) gets
        // security.file_mode (validated by the loader), whatever umask the host was started with.
        if let mode = loaded.configuration.security.fileModeBits {
            umask(mode_t(~mode & 0o777))
        }
        let runtime: MonitoringRuntime
        do {
            runtime = try await MonitoringRuntime(loaded: loaded, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("stepflow-monitor: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        // A write past a file-size limit (RLIMIT_FSIZE) fails with EFBIG, like a full disk, instead of killing
        // the host: the writers keep the rows queued and ingest answers 503 until it can write again.
        signal(SIGXFSZ, SIG_IGN)
        // A crash frees the port and the database lock at once, before the Swift backtracer (which can take
        // seconds) runs, so a supervisor's immediate restart succeeds.
        if stepflow_release_on_crash(runtime.storage.lock.fileDescriptor) != 0 {
            logger.warning("cannot install the crash handler that frees the port", metadata: ["errno": "\(errno)"])
        }
        // The lock is closed when the host has stopped: the handler must not close a descriptor reusing its number.
        defer { _ = stepflow_release_on_crash(-1) }
        do {
            try await runtime.run()
        } catch {
            var message = "stepflow-monitor: stopped on an error: \(error)\n"
            if "\(error)".contains("Address already in use") {
                let http = loaded.configuration.http
                message = "stepflow-monitor: cannot listen on \(http.address):\(http.port): the address is already in use.\n"
                    + "Stop the process that holds it, or choose another port with http.port "
                    + "(STEPFLOW_MONITORING_HEALTH_CHECK_HTTP_PORT).\n"
            }
            FileHandle.standardError.write(Data(message.utf8))
            throw ExitCode(1)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
