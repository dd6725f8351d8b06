import Foundation
import Logging
import Synchronization

/// Reads a runner's stderr and logs each line in the host's log with `plugin=<name>`.
///
/// Lines written by ``RunnerLogHandler`` (`<level>\t<text>`) keep their level; anything else (a plugin's stray
/// output, a crash message from the C library) is logged as a warning. A thread of its own reads a duplicate of
/// the pipe's descriptor with `read(2)`, retrying on `EINTR` (which `FileHandle.availableData` traps on), until
/// end of file. A thread rather than a dispatch read source: with runners restarted in quick succession, read
/// sources being torn down while new ones were registered crashed libdispatch's event loop in the host.
final class RunnerLogForwarder: Sendable {
    private let descriptor: Int32
    private let logger: Logger
    private let buffer = Mutex<[UInt8]>([])

    init(handle: FileHandle, pluginName: String, logger: Logger) {
        var logger = logger
        logger[metadataKey: "plugin"] = "\(pluginName)"
        logger[metadataKey: "source"] = "runner"
        self.logger = logger
        descriptor = dup(handle.fileDescriptor)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    }

    /// Starts forwarding; stops by itself at end of file (when the runner exits), then closes its descriptor.
    func start() {
        let descriptor = self.descriptor
        Thread.detachNewThread { [self] in
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    buffer.withLock { $0.append(contentsOf: chunk[..<count]) }
                    flush(final: false)
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            flush(final: true)
            close(descriptor)
        }
    }

    private func flush(final: Bool) {
        let lines: [String] = buffer.withLock { bytes in
            var lines: [String] = []
            while let newline = bytes.firstIndex(of: 0x0A) {
                lines.append(String(decoding: bytes[..<newline], as: UTF8.self))
                bytes.removeSubrange(...newline)
            }
            if final, !bytes.isEmpty {
                lines.append(String(decoding: bytes, as: UTF8.self))
                bytes.removeAll()
            }
            return lines
        }
        for line in lines where !line.isEmpty { forward(line) }
    }

    private func forward(_ line: String) {
        if let tab = line.firstIndex(of: "\t"), let level = Logger.Level(rawValue: String(line[..<tab])) {
            logger.log(level: level, "\(line[line.index(after: tab)...])")
        } else {
            logger.warning("\(line)")
        }
    }
}
