import Dispatch
import Foundation
import Logging
import Synchronization

/// Reads a runner's stderr and logs each line in the host's log with `plugin=<name>`.
///
/// Lines written by ``RunnerLogHandler`` (`<level>\t<text>`) keep their level; anything else (a plugin's stray
/// output, a crash message from the C library) is logged as a warning. A dispatch read source on a non-blocking
/// duplicate of the pipe's descriptor drives it, so no thread waits on the pipe (and `EINTR` is retried, which
/// `FileHandle.availableData` does not do).
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
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    }

    /// Starts forwarding; stops by itself at end of file (when the runner exits). The source keeps itself (and
    /// this forwarder) alive through its handler until then.
    func start() {
        let descriptor = self.descriptor
        let source = DispatchSource.makeReadSource(
            fileDescriptor: descriptor, queue: DispatchQueue(label: "stepflow.plugin-runner.stderr"))
        source.setEventHandler { [self] in
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    buffer.withLock { $0.append(contentsOf: chunk[..<count]) }
                    continue
                }
                if count < 0 && errno == EINTR { continue }
                if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    flush(final: false)
                    return
                }
                flush(final: true)
                source.cancel()
                return
            }
        }
        source.setCancelHandler { close(descriptor) }
        source.activate()
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
