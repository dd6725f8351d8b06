/// One log entry the host hands to a ``CustomLogExporter``: the spec's `LogEntry` and `LogContext`, flattened.
///
/// A copy: the exporter may keep it after ``CustomLogExporter/exportLogs(_:)`` returns.
public struct LogRecord: Sendable, Hashable {
    /// The entry's unique id.
    public var id: String
    /// The severity.
    public var level: PluginLogLevel
    /// The log message.
    public var message: String
    /// When the entry was written, in Unix milliseconds.
    public var timestampMilliseconds: Int64
    /// Where the entry came from, e.g. a service name.
    public var source: String
    /// The component within the source.
    public var component: String
    /// The module that wrote it; empty when unknown.
    public var module: String
    /// The function that wrote it; empty when unknown.
    public var function: String
    /// The source line that wrote it; `nil` when unknown.
    public var line: Int?
    /// The trace id, `nil` when absent; likewise below.
    public var traceID: String?
    /// The span id.
    public var spanID: String?
    /// The user id.
    public var userID: String?
    /// The request id.
    public var requestID: String?
    /// Additional fields, values as text, in order.
    public var fields: [PluginLabel]

    /// Creates a record, e.g. in a unit test of an exporter.
    public init(
        id: String = "",
        level: PluginLogLevel,
        message: String,
        timestampMilliseconds: Int64,
        source: String = "",
        component: String = "",
        module: String = "",
        function: String = "",
        line: Int? = nil,
        traceID: String? = nil,
        spanID: String? = nil,
        userID: String? = nil,
        requestID: String? = nil,
        fields: [PluginLabel] = []
    ) {
        self.id = id
        self.level = level
        self.message = message
        self.timestampMilliseconds = timestampMilliseconds
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
