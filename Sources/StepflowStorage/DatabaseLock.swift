import Foundation
import StepflowCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The exclusive claim of one host on one database file: an `flock` on `<database>.lock`, which holds the PID of
/// the host that took it. A second host on the same file is refused at start, naming the first one's PID, instead
/// of splitting alerting between two processes. Read-only commands never take it.
///
/// The lock goes with the process (the kernel drops it when the descriptor closes, a crash included), so a stale
/// lock file never blocks a restart.
public final class DatabaseLock: Sendable {
    /// The lock file.
    public let path: String
    private let descriptor: Mutex<Int32>

    /// Takes the lock of the database at `databasePath`.
    ///
    /// - Throws: `databaseError` naming the PID of the host that holds it, or why the lock file cannot be made.
    public init(databasePath: String) throws(MonitoringError) {
        path = databasePath + ".lock"
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .databaseError(
                "cannot create the lock file \(path): \(String(cString: strerror(errno)))",
                hint: "check the permissions of its directory, or set storage.path elsewhere")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let holder = count > 0
                ? String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            guard reason == EWOULDBLOCK else {
                throw .databaseError("cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            throw .databaseError(
                "another stepflow-monitor\(holder.isEmpty ? "" : " (PID \(holder))") is using the database \(databasePath)",
                hint: "stop it first, or give this host its own storage.path; read-only commands "
                    + "(metrics, logs, traces, alerts list) work while it runs")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        descriptor = Mutex(fd)
    }

    /// The lock file's descriptor while the lock is held, else -1: for closing it from a crash handler.
    public var fileDescriptor: Int32 { descriptor.withLock { $0 } }

    /// Gives the lock up; another host may then take it. Calling it again does nothing.
    public func release() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            close(fd)  // closing the only descriptor drops the flock
            fd = -1
        }
    }

    deinit { release() }
}
