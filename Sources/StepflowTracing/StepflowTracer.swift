import Foundation
import Instrumentation
import StepflowCore
import Synchronization
import Tracing

/// The span a `ServiceContext` is in, as this host's tracer put it there (or read it from a `traceparent`).
public struct StepflowSpanContext: Sendable, Hashable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var sampled: Bool

    public init(traceID: TraceID, spanID: SpanID, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }
}

private enum StepflowSpanContextKey: ServiceContextKey {
    typealias Value = StepflowSpanContext
}

private enum StepflowActiveSpanKey: ServiceContextKey {
    typealias Value = StepflowTracingSpan
}

extension ServiceContext {
    /// The span of this host's tracer this context belongs to (the one `withSpan` runs its body in).
    public var stepflowSpan: StepflowTracingSpan? { self[StepflowActiveSpanKey.self] }

    /// The span this context is in, when this host's tracer made or read it.
    public var stepflowSpanContext: StepflowSpanContext? {
        get { self[StepflowSpanContextKey.self] }
        set { self[StepflowSpanContextKey.self] = newValue }
    }
}

/// A swift-distributed-tracing backend: `InstrumentationSystem.bootstrap(runtime.tracer)` makes an application's
/// `withSpan` land in `monitoring_traces`, errors recorded, and `traceparent`/`tracestate` travel in and out of
/// carriers (HTTP headers) as W3C Trace Context.
///
/// A span is recorded when it ends, through the ``TraceEngine`` (sampling decided per trace as it decides it). Logs
/// written through ``StepflowLogHandler`` inside a span carry its trace and span ids.
public struct StepflowTracer: Tracer {
    public let engine: TraceEngine

    public init(engine: TraceEngine) {
        self.engine = engine
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> StepflowTracingSpan {
        var context = context()
        let parent = context.stepflowSpanContext
        let traceID = parent?.traceID ?? engine.newTraceID()
        let sampled = parent?.sampled ?? engine.isSampled(traceID)
        let spanContext = StepflowSpanContext(traceID: traceID, spanID: engine.newSpanID(), sampled: sampled)
        context.stepflowSpanContext = spanContext
        return StepflowTracingSpan(
            operationName: operationName, context: context, spanContext: spanContext, parentSpanID: parent?.spanID,
            kind: kind, start: instant().nanosecondsSinceEpoch, engine: engine)
    }

    public func forceFlush() {}

    /// The span `context` belongs to, when this tracer started it.
    public func activeSpan(identifiedBy context: ServiceContext) -> StepflowTracingSpan? {
        context.stepflowSpan
    }

    public func extract<Carrier, Extract>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract: Extractor, Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier),
            let parsed = try? TraceContext(
                traceparent: header, tracestate: extractor.extract(key: "tracestate", from: carrier)),
            let spanID = parsed.spanID
        else { return }
        context.stepflowSpanContext = StepflowSpanContext(traceID: parsed.traceID, spanID: spanID, sampled: parsed.sampled)
    }

    public func inject<Carrier, Inject>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject: Injector, Inject.Carrier == Carrier {
        guard let span = context.stepflowSpanContext else { return }
        let header = TraceContext(traceID: span.traceID, spanID: span.spanID, operation: "", sampled: span.sampled)
        if let traceparent = header.traceparent { injector.inject(traceparent, forKey: "traceparent", into: &carrier) }
    }
}

/// A span of ``StepflowTracer``: attributes, events and errors are kept until it ends, then it is recorded.
public final class StepflowTracingSpan: Tracing.Span {
    private struct State {
        var operationName: String
        var attributes: SpanAttributes = [:]
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var status: Tracing.SpanStatus?
        var errors: [String] = []
        var ended = false
    }

    /// The context the span was started with, its own span context in it.
    private let baseContext: ServiceContext
    public let kind: SpanKind
    private let spanContext: StepflowSpanContext
    private let parentSpanID: SpanID?
    private let start: UInt64
    private let engine: TraceEngine
    private let state: Mutex<State>

    init(
        operationName: String, context: ServiceContext, spanContext: StepflowSpanContext, parentSpanID: SpanID?,
        kind: SpanKind, start: UInt64, engine: TraceEngine
    ) {
        self.baseContext = context
        self.kind = kind
        self.spanContext = spanContext
        self.parentSpanID = parentSpanID
        self.start = start
        self.engine = engine
        self.state = Mutex(State(operationName: operationName))
    }

    /// The span's context: the one it was started with, carrying the span itself, so that code running inside
    /// `withSpan` finds it (``current``).
    public var context: ServiceContext {
        var context = baseContext
        context[StepflowActiveSpanKey.self] = self
        return context
    }

    /// The span of this host's tracer the current task runs in, if any.
    public static var current: StepflowTracingSpan? { ServiceContext.current?.stepflowSpan }

    public var operationName: String {
        get { state.withLock { $0.operationName } }
        set { state.withLock { $0.operationName = newValue } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set { state.withLock { $0.attributes = newValue } }
    }

    public var isRecording: Bool { spanContext.sampled && !state.withLock { $0.ended } }

    public func setStatus(_ status: Tracing.SpanStatus) {
        state.withLock { $0.status = status }
    }

    /// Adds the event ``Profiler`` (StepflowProfiler) records for a measured block: named after it, with its
    /// duration (and CPU time, when measured) as attributes.
    public func addProfileEvent(_ name: String, seconds: Double, cpuSeconds: Double?) {
        var attributes: SpanAttributes = [:]
        attributes["stepflow.profile.duration_seconds"] = seconds
        if let cpuSeconds { attributes["stepflow.profile.cpu_seconds"] = cpuSeconds }
        addEvent(SpanEvent(name: name, attributes: attributes))
    }

    public func addEvent(_ event: SpanEvent) {
        guard spanContext.sampled else { return }
        state.withLock { $0.events.append(event) }
    }

    public func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        guard spanContext.sampled else { return }
        var attributes = attributes
        attributes["exception.message"] = "\(error)"
        attributes["exception.type"] = "\(type(of: error))"
        let event = SpanEvent(name: "exception", at: instant(), attributes: attributes)
        state.withLock {
            $0.errors.append("\(error)")
            $0.events.append(event)
        }
    }

    public func addLink(_ link: SpanLink) {
        state.withLock { $0.links.append(link) }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        let finished = state.withLock { state -> State? in
            guard !state.ended else { return nil }
            state.ended = true
            return state
        }
        guard let finished, spanContext.sampled else { return }
        let end = instant().nanosecondsSinceEpoch
        var metadata = Self.json(finished.attributes)
        metadata["span.kind"] = .string("\(kind)")
        let status: StepflowCore.SpanStatus
        switch finished.status?.code {
        case .error?:
            status = .error
            if let message = finished.status?.message { metadata["error.message"] = .string(message) }
        case .ok?: status = .ok
        case nil: status = finished.errors.isEmpty ? .ok : .error
        }
        if status == .error, metadata["error.message"] == nil, let first = finished.errors.first {
            metadata["error.message"] = .string(first)
        }
        let span = StepflowCore.Span(
            spanID: spanContext.spanID, traceID: spanContext.traceID, parentSpanID: parentSpanID,
            name: finished.operationName, startTime: Self.date(start), endTime: Self.date(max(end, start)),
            events: finished.events.map { event in
                TraceEvent(name: event.name, timestamp: Self.date(event.nanosecondsSinceEpoch), attributes: Self.json(event.attributes))
            },
            metadata: metadata, status: status, sampled: true)
        engine.record([span])
    }

    static func date(_ nanoseconds: UInt64) -> Date { Date(timeIntervalSince1970: Double(nanoseconds) / 1e9) }

    static func json(_ attributes: SpanAttributes) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        attributes.forEach { key, value in out[key] = json(value) }
        return out
    }

    static func json(_ attribute: SpanAttribute) -> JSONValue {
        switch attribute {
        case .int32(let value): return .int(Int64(value))
        case .int64(let value): return .int(value)
        case .double(let value): return .double(value)
        case .bool(let value): return .bool(value)
        case .string(let value): return .string(value)
        case .int32Array(let values): return .array(values.map { .int(Int64($0)) })
        case .int64Array(let values): return .array(values.map { .int($0) })
        case .doubleArray(let values): return .array(values.map { .double($0) })
        case .boolArray(let values): return .array(values.map { .bool($0) })
        case .stringArray(let values): return .array(values.map { .string($0) })
        case .stringConvertible(let value): return .string(value.description)
        case .stringConvertibleArray(let values): return .array(values.map { .string($0.description) })
        default: return .string("\(attribute)")
        }
    }
}
