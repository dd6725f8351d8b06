#if canImport(Glibc)
import Glibc
#endif

/// Reads `/proc` files into one reused buffer and parses their numbers from the bytes, without building strings:
/// a scan of a few thousand processes reads some ten thousand files, so the reading is what a scan costs.
///
/// Every file is bounded (`maximumFileSize`); a file that cannot be opened (the process exited, or belongs to
/// another user) reads as `nil`, never as an error: processes come and go during a scan.
struct ProcReader: ~Copyable {
    /// The most read of one file: `stat`, `status` and `io` are well under 2 KiB; a command line is cut here.
    static let maximumFileSize = 16 << 10

    private let root: String
    private var buffer: UnsafeMutableRawBufferPointer

    init(root: String) {
        self.root = root
        buffer = .allocate(byteCount: Self.maximumFileSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The path of `name` in the directory of process `pid`.
    func path(_ pid: Int32, _ name: String) -> String { root + "/" + String(pid) + "/" + name }

    /// The file's bytes (up to `maximumFileSize`) passed to `body`, or `nil` when it cannot be read.
    mutating func withFile<Result>(_ path: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var count = 0
        while count < buffer.count {
            let read = Glibc.read(descriptor, buffer.baseAddress! + count, buffer.count - count)
            if read < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if read == 0 { break }
            count += read
        }
        return body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }

    /// The numeric entries of the proc root: every process id.
    func processIDs() -> [Int32] {
        guard let directory = opendir(root) else { return [] }
        defer { closedir(directory) }
        var ids: [Int32] = []
        while let entry = readdir(directory) {
            let pid = withUnsafeBytes(of: entry.pointee.d_name) { name -> Int32? in
                var value: Int32 = 0
                var digits = 0
                for byte in name {
                    if byte == 0 { break }
                    guard byte >= 0x30, byte <= 0x39, digits < 9 else { return nil }
                    value = value * 10 + Int32(byte - 0x30)
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            if let pid { ids.append(pid) }
        }
        return ids
    }

    /// The number of entries of a directory (open descriptors in `/proc/PID/fd`), without `.` and `..`.
    func countEntries(_ path: String) -> Int? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let dot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0))
            }
            if !dot { count += 1 }
        }
        return count
    }
}

/// Parsing of the byte contents of proc files.
enum ProcParse {
    /// The unsigned decimal number starting at `index` (after any spaces), and the index after it; nil if none.
    /// Values past `UInt64.max` saturate rather than trap.
    static func number(_ bytes: UnsafeRawBufferPointer, from index: Int) -> (value: UInt64, end: Int)? {
        var position = index
        while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
        var value: UInt64 = 0
        let start = position
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(bytes[position] - 0x30))
            value = overflow1 || overflow2 ? .max : sum
            position += 1
        }
        return position > start ? (value, position) : nil
    }

    /// The value of the line `key` (`voluntary_ctxt_switches:`, `read_bytes:`) of a `key: value` file.
    static func field(_ bytes: UnsafeRawBufferPointer, _ key: StaticString) -> UInt64? {
        let keyLength = key.utf8CodeUnitCount
        var lineStart = 0
        while lineStart < bytes.count {
            var matches = lineStart + keyLength <= bytes.count
            if matches {
                for offset in 0..<keyLength where bytes[lineStart + offset] != key.utf8Start[offset] {
                    matches = false
                    break
                }
            }
            if matches { return number(bytes, from: lineStart + keyLength)?.value }
            while lineStart < bytes.count, bytes[lineStart] != 0x0A { lineStart += 1 }
            lineStart += 1
        }
        return nil
    }
}
