import ServiceLifecycle

/// Holds the host's ``DatabaseLock`` while the host runs and gives it up when the host has stopped: it is the
/// first service of the group, so the last to stop, after every writer has flushed.
struct DatabaseLockService: Service {
    let lock: DatabaseLock

    func run() async throws {
        try? await gracefulShutdown()
        lock.release()
    }
}
