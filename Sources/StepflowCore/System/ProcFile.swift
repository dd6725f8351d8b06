#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Musl)
import Musl
private let systemRead = Musl.read
#endif

/// Reads files of `/proc`. They report a size of 0, so they are read until end of file: Foundation's
/// `String(contentsOfFile:)` stops after its first chunk (it cut `/proc/self/maps` after a dozen mappings, and
/// `/proc/stat`, whose `intr` line alone passes 4 KiB on a large machine, before its `btime` line).
public enum ProcFile {
    /// The whole file as text.
    ///
    /// - Throws: `internalError` naming the file and the system's reason when it cannot be opened or read.
    public static func read(_ path: String) throws(MonitoringError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .internalError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .internalError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
