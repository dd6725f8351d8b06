import StepflowPluginSDK

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file opened for appending (`O_APPEND`), closed when the last reference goes. Each ``append(_:)`` is one
/// `write(2)` (retried for the rest after a short write), so whole lines of concurrent writers do not interleave.
final class AppendOnlyFile {
    let path: String
    private let descriptor: Int32

    /// Opens (creating with mode 0644) `path`; ``PluginFailure/unavailable(_:)`` with the system's reason when it
    /// cannot.
    init(path: String) throws(PluginFailure) {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .unavailable("cannot open \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    /// Writes all of `text`'s UTF-8 bytes.
    func append(_ text: String) throws(PluginFailure) {
        var text = text
        let failure = text.withUTF8 { bytes -> Int32? in
            var written = 0
            while written < bytes.count {
                let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += count
            }
            return nil
        }
        if let failure {
            throw .unavailable("cannot write to \(path): \(String(cString: strerror(failure)))")
        }
    }
}
