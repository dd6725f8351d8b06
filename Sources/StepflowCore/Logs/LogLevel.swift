/// How severe a log entry is: the spec's `LogLevel`, ordered from `trace` to `fatal`.
public enum LogLevel: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case trace
    case debug
    case info
    case warn
    case error
    case fatal

    /// 0 (`trace`) to 5 (`fatal`).
    public var severity: Int {
        switch self {
        case .trace: return 0
        case .debug: return 1
        case .info: return 2
        case .warn: return 3
        case .error: return 4
        case .fatal: return 5
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.severity < rhs.severity }

    /// This level and every more severe one, e.g. `warn` → `[warn, error, fatal]`.
    public var andAbove: [LogLevel] { LogLevel.allCases.filter { $0 >= self } }

    public var description: String { rawValue }

    /// A level as people write it: the names above in any case, and `warning`, `notice` (→ `info`), `critical`
    /// (→ `fatal`) as swift-log and syslog name them.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "trace": self = .trace
        case "debug": self = .debug
        case "info", "notice": self = .info
        case "warn", "warning": self = .warn
        case "error": self = .error
        case "fatal", "critical": self = .fatal
        default: return nil
        }
    }

    /// ``init(parsing:)``, or `invalidLogLevel` naming the text and the levels there are.
    public static func parse(_ text: String) throws(MonitoringError) -> LogLevel {
        guard let level = LogLevel(parsing: text) else {
            throw MonitoringError(
                .invalidLogLevel, "unknown log level '\(text)'",
                hint: "use one of " + LogLevel.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return level
    }
}
