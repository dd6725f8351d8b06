import Foundation
import W3CTraceContext

/// The trace an operation belongs to, and the span new spans become children of: the spec's `TraceContext`.
///
/// It travels between services as W3C Trace Context headers: ``init(traceparent:tracestate:operation:)`` reads
/// them, ``traceparent`` and ``tracestate`` write them.
public struct TraceContext: Sendable, Hashable {
    public var traceID: TraceID
    /// The span that spans started in this context are children of; `nil` at the root of a trace.
    public var spanID: SpanID?
    /// The operation the trace was created for.
    public var operation: String
    public var metadata: [String: JSONValue]
    public var createdAt: Date
    /// Whether the trace is recorded (the W3C `sampled` flag).
    public var sampled: Bool
    /// The W3C `tracestate` header, passed on as it came.
    public var traceState: String?

    public init(
        traceID: TraceID, spanID: SpanID? = nil, operation: String, metadata: [String: JSONValue] = [:],
        createdAt: Date = Date(), sampled: Bool = true, traceState: String? = nil
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.operation = operation
        self.metadata = metadata
        self.createdAt = createdAt
        self.sampled = sampled
        self.traceState = traceState
    }

    /// A context from W3C headers: `traceparent` (`00-<trace id>-<parent span id>-<flags>`) and `tracestate`.
    ///
    /// - Throws: `invalidQuery` saying what is wrong with the header.
    public init(traceparent: String, tracestate: String? = nil, operation: String = "") throws(MonitoringError) {
        let parsed: W3CTraceContext.TraceContext
        do {
            parsed = try W3CTraceContext.TraceContext(traceParentHeaderValue: traceparent, traceStateHeaderValue: tracestate)
        } catch {
            throw .invalidQuery(
                "the traceparent header '\(traceparent.prefix(80))' does not parse: \(error)",
                hint: "W3C Trace Context: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>")
        }
        self.init(
            traceID: parsed.traceID, spanID: parsed.spanID, operation: operation, sampled: parsed.flags.contains(.sampled),
            traceState: tracestate)
    }

    /// The `traceparent` header of this context (it needs a span: the root context of a trace has none).
    public var traceparent: String? {
        guard let spanID else { return nil }
        return W3CTraceContext.TraceContext(
            traceID: traceID, spanID: spanID, flags: sampled ? .sampled : [], state: W3CTraceContext.TraceState()
        ).traceParentHeaderValue
    }

    /// The `tracestate` header to pass on, if one came in.
    public var tracestate: String? { traceState }

    /// The context whose new spans are children of `span`.
    public func child(of span: Span) -> TraceContext {
        var context = self
        context.spanID = span.spanID
        return context
    }
}
