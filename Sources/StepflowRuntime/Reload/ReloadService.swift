import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on each SIGHUP, until graceful shutdown.
///
/// The signal is trapped when the ``UnixSignalsSequence`` is created (before the service group starts), so a
/// SIGHUP never takes the default action of terminating the process. A SIGHUP that arrives while a reload runs
/// is queued and handled after it.
struct ReloadService: Service {
    let signals: UnixSignalsSequence
    let reload: @Sendable () async -> ReloadReport
    let logger: Logger

    func run() async {
        for await signal in signals.cancelOnGracefulShutdown() {
            logger.info("reload requested", metadata: ["signal": "\(signal)"])
            _ = await reload()
        }
    }
}
