import Foundation

/// Where a span stands: the spec's `SpanStatus`.
public enum SpanStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Started, not ended yet.
    case started
    /// Ended successfully.
    case ok
    /// Ended with an error.
    case error
    /// Closed by the host after `tracing.max_trace_duration` without an end.
    case timedOut = "timed_out"
    /// Ended because its work was cancelled.
    case cancelled
}

/// Something that happened during a span: the spec's `TraceEvent`.
public struct TraceEvent: Sendable, Hashable {
    public var name: String
    public var timestamp: Date
    public var attributes: [String: JSONValue]

    public init(name: String, timestamp: Date = Date(), attributes: [String: JSONValue] = [:]) {
        self.name = name
        self.timestamp = timestamp
        self.attributes = attributes
    }
}

/// One timed operation of a trace: the spec's `Span`.
public struct Span: Sendable, Hashable {
    public var spanID: SpanID
    public var traceID: TraceID
    public var parentSpanID: SpanID?
    public var name: String
    public var startTime: Date
    public var endTime: Date?
    public var events: [TraceEvent]
    /// The span's attributes (and, once it ended with an error, `error.message`).
    public var metadata: [String: JSONValue]
    public var status: SpanStatus
    /// Whether the trace was sampled: an unsampled span is not recorded, and ending it costs nothing.
    public var sampled: Bool

    public init(
        spanID: SpanID, traceID: TraceID, parentSpanID: SpanID? = nil, name: String, startTime: Date = Date(),
        endTime: Date? = nil, events: [TraceEvent] = [], metadata: [String: JSONValue] = [:],
        status: SpanStatus = .started, sampled: Bool = true
    ) {
        self.spanID = spanID
        self.traceID = traceID
        self.parentSpanID = parentSpanID
        self.name = name
        self.startTime = startTime
        self.endTime = endTime
        self.events = events
        self.metadata = metadata
        self.status = status
        self.sampled = sampled
    }

    /// How long the span took, once it ended.
    public var duration: Duration? {
        endTime.map { .milliseconds(clampingSeconds: $0.timeIntervalSince(startTime)) }
    }
}

/// How a span ended: the spec's `SpanResult`.
public struct SpanResult: Sendable, Hashable {
    public var status: SpanStatus
    /// What went wrong, for `error`.
    public var message: String?
    /// Attributes to add to the span.
    public var attributes: [String: JSONValue]

    public init(status: SpanStatus = .ok, message: String? = nil, attributes: [String: JSONValue] = [:]) {
        self.status = status
        self.message = message
        self.attributes = attributes
    }

    public static let ok = SpanResult()

    public static func error(_ message: String) -> SpanResult { SpanResult(status: .error, message: message) }
}
