#if canImport(Glibc)
import Glibc
#endif

/// One `/proc/PID/stat` line, split into its fields (proc(5)): the command name, in parentheses, may hold spaces
/// and parentheses, so the fields are the ones after its last `)`.
public struct ProcessStatLine: Sendable {
    private let fields: [Substring]

    /// - Returns: `nil` when the text has no `)` (not a stat line).
    public init?(_ text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        fields = text[text.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
    }

    /// Field `number` as proc(5) numbers them (3 is the state, 14 utime, 15 stime, 20 num_threads, 22 starttime,
    /// 23 vsize, 24 rss); `nil` when it is missing or not a number.
    public func field(_ number: Int) -> Double? {
        guard number >= 3, fields.count > number - 3 else { return nil }
        return Double(fields[number - 3])
    }

    /// User plus system CPU seconds (fields 14 and 15).
    public var cpuSeconds: Double? {
        guard let user = field(14), let system = field(15) else { return nil }
        return (user + system) / Self.ticksPerSecond
    }

    /// Resident bytes (field 24, in pages).
    public var residentBytes: Double? { field(24).map { $0 * Self.pageSize } }

    /// Clock ticks per second (`_SC_CLK_TCK`).
    public static let ticksPerSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))
    /// The page size in bytes.
    public static let pageSize = Double(max(1, sysconf(Int32(_SC_PAGESIZE))))
}
