import Foundation

/// The identity of one log entry: the spec's `LogId`, a lowercase UUID.
public struct LogID: Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A new, random id.
    public static func random() -> LogID { LogID(UUID().uuidString.lowercased()) }

    public var description: String { rawValue }
}

/// Where a log entry comes from and what it belongs to: the spec's `LogContext`.
public struct LogContext: Sendable, Hashable {
    /// The W3C trace id (32 hex digits) of the trace the entry belongs to.
    public var traceID: String?
    /// The W3C span id (16 hex digits) of the span the entry was written in.
    public var spanID: String?
    public var userID: String?
    public var requestID: String?
    /// The part of the system: a service, a subsystem, a logger label.
    public var component: String
    public var module: String
    public var function: String
    public var line: UInt32?
    /// Anything else, as JSON (swift-log metadata lands here).
    public var additionalFields: [String: JSONValue]

    public init(
        component: String = "", module: String = "", function: String = "", line: UInt32? = nil,
        traceID: String? = nil, spanID: String? = nil, userID: String? = nil, requestID: String? = nil,
        additionalFields: [String: JSONValue] = [:]
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.userID = userID
        self.requestID = requestID
        self.component = component
        self.module = module
        self.function = function
        self.line = line
        self.additionalFields = additionalFields
    }
}

/// One log entry: the spec's `LogEntry`.
public struct LogEntry: Sendable, Hashable {
    public var id: LogID
    public var level: LogLevel
    public var message: String
    public var context: LogContext
    public var timestamp: Date
    /// Which program or host wrote it (`logs.source` when it names none).
    public var source: String
    public var metadata: [String: JSONValue]

    public init(
        id: LogID = .random(), level: LogLevel, message: String, context: LogContext = LogContext(),
        timestamp: Date = Date(), source: String = "", metadata: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.level = level
        self.message = message
        self.context = context
        self.timestamp = timestamp
        self.source = source
        self.metadata = metadata
    }
}
