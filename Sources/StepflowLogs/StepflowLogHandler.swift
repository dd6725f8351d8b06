import Foundation
import Instrumentation
import Logging
import StepflowCore
import StepflowTracing

/// A swift-log backend: `LoggingSystem.bootstrap(runtime.logHandler)` makes an application's log lines entries of
/// `monitoring_logs`.
///
/// The logger's label becomes the entry's component, the log call's source its module, and its function and line
/// theirs; metadata (the handler's, the provider's and the call's) becomes `additional_fields`, with `file` among
/// them. Inside a span of ``StepflowTracer`` (a task-local `ServiceContext`), the trace and span ids are filled in.
/// Metadata keys `user_id` and `request_id` fill those columns. Logging never waits: when the queue is full the
/// entry is dropped and counted.
public struct StepflowLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    private let label: String
    private let engine: LogEngine

    public init(label: String, engine: LogEngine, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.engine = engine
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        var fields: [String: JSONValue] = [:]
        for (key, value) in merged { fields[key] = Self.json(value) }
        fields["file"] = .string(event.file)
        if let error = event.error { fields["error"] = .string("\(error)") }
        var context = LogContext(
            component: label, module: event.source, function: event.function, line: UInt32(clamping: event.line),
            additionalFields: fields)
        if case .string(let user)? = fields["user_id"] { context.userID = user }
        if case .string(let request)? = fields["request_id"] { context.requestID = request }
        if let span = ServiceContext.current?.stepflowSpanContext {
            context.traceID = span.traceID.description
            context.spanID = span.spanID.description
        }
        engine.submit(LogEntry(level: Self.level(event.level), message: event.message.description, context: context))
    }

    static func level(_ level: Logger.Level) -> LogLevel {
        switch level {
        case .trace: return .trace
        case .debug: return .debug
        case .info, .notice: return .info
        case .warning: return .warn
        case .error: return .error
        case .critical: return .fatal
        }
    }

    static func json(_ value: Logger.MetadataValue) -> JSONValue {
        switch value {
        case .string(let text): return .string(text)
        case .stringConvertible(let convertible): return .string(convertible.description)
        case .array(let values): return .array(values.map(json))
        case .dictionary(let members): return .object(members.mapValues(json))
        }
    }
}
