import Foundation

/// One log entry handed to a log-exporter plugin: the spec's `LogEntry` and `LogContext`, flattened as
/// `stepflow_log_record` carries them.
///
/// Every string is lent to the plugin only for the duration of ``PluginInstance/exportLogs(_:)``.
public struct PluginLogRecord: Sendable {
    /// Severities, matching `stepflow_log_level` (the spec's `LogLevel`).
    public enum Level: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// `STEPFLOW_LOG_TRACE`.
        case trace = 0
        /// `STEPFLOW_LOG_DEBUG`.
        case debug = 1
        /// `STEPFLOW_LOG_INFO`.
        case info = 2
        /// `STEPFLOW_LOG_WARN`.
        case warn = 3
        /// `STEPFLOW_LOG_ERROR`.
        case error = 4
        /// `STEPFLOW_LOG_FATAL`.
        case fatal = 5

        /// The level's name in lower case, e.g. `warn`.
        public var description: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .warn: "warn"
            case .error: "error"
            case .fatal: "fatal"
            }
        }
    }

    /// The entry's unique id.
    public var id: String
    /// The severity.
    public var level: Level
    /// The log message.
    public var message: String
    /// When the entry was written; passed as Unix milliseconds.
    public var timestamp: Date
    /// Where the entry came from, e.g. a service name.
    public var source: String
    /// The component within the source.
    public var component: String
    /// The module that wrote it; empty when unknown.
    public var module: String
    /// The function that wrote it; empty when unknown.
    public var function: String
    /// The source line that wrote it; `nil` (passed as -1) when unknown.
    public var line: Int?
    /// The trace id of the request, if any (passed as an empty string when `nil`; likewise below).
    public var traceID: String?
    /// The span id, if any.
    public var spanID: String?
    /// The user id, if any.
    public var userID: String?
    /// The request id, if any.
    public var requestID: String?
    /// Additional fields, values as text, in order.
    public var fields: [(name: String, value: String)]

    /// Creates a record; everything but the level, message and timestamp has an empty default.
    public init(
        id: String = "",
        level: Level,
        message: String,
        timestamp: Date,
        source: String = "",
        component: String = "",
        module: String = "",
        function: String = "",
        line: Int? = nil,
        traceID: String? = nil,
        spanID: String? = nil,
        userID: String? = nil,
        requestID: String? = nil,
        fields: [(name: String, value: String)] = []
    ) {
        self.id = id
        self.level = level
        self.message = message
        self.timestamp = timestamp
        self.source = source
        self.component = component
        self.module = module
        self.function = function
        self.line = line
        self.traceID = traceID
        self.spanID = spanID
        self.userID = userID
        self.requestID = requestID
        self.fields = fields
    }
}
