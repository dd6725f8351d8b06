import Foundation
import StepflowCore
import StepflowWireFormats

/// OTLP spans as the host's spans (docs/ingest.md, "OTLP: mapping").
enum OTLPTraces {
    /// The spans of a request, and for each one that cannot be a span, why.
    static func spans(
        _ request: Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest, ids: OTLPIdentifiers
    ) -> (spans: [Span], rejected: [String]) {
        var spans: [Span] = []
        var rejected: [String] = []
        for resourceSpans in request.resourceSpans {
            let resource = OTLPAttributes.object(resourceSpans.resource.attributes)
            for scopeSpans in resourceSpans.scopeSpans {
                let scope = scopeSpans.scope
                for span in scopeSpans.spans {
                    switch self.span(span, resource: resource, scope: scope, ids: ids) {
                    case .success(let converted): spans.append(converted)
                    case .failure(let rejection): rejected.append(rejection.reason)
                    }
                }
            }
        }
        return (spans, rejected)
    }

    static func span(
        _ span: Opentelemetry_Proto_Trace_V1_Span, resource: [String: JSONValue],
        scope: Opentelemetry_Proto_Common_V1_InstrumentationScope, ids: OTLPIdentifiers
    ) -> Result<Span, OTLPRejection> {
        guard let traceID = ids.traceID(span.traceID) else {
            return .failure("span '\(span.name.prefix(100))': the trace id is not 16 bytes, or is all zero")
        }
        guard let spanID = ids.spanID(span.spanID) else {
            return .failure("span '\(span.name.prefix(100))': the span id is not 8 bytes, or is all zero")
        }
        var parent: SpanID?
        if !span.parentSpanID.isEmpty {
            guard let id = ids.spanID(span.parentSpanID) else {
                return .failure("span '\(span.name.prefix(100))': the parent span id is not 8 bytes")
            }
            parent = id
        }
        guard let start = OTLPAttributes.date(nanoseconds: span.startTimeUnixNano),
            let end = OTLPAttributes.date(nanoseconds: span.endTimeUnixNano), end >= start
        else {
            return .failure("span '\(span.name.prefix(100))': its start and end must be set, in order, within \(ValidTime.rangeText)")
        }
        // Resource attributes first, then the scope, then the span's own, which win.
        var metadata = resource
        if !scope.name.isEmpty { metadata["otel.scope.name"] = .string(scope.name) }
        if !scope.version.isEmpty { metadata["otel.scope.version"] = .string(scope.version) }
        for (key, value) in OTLPAttributes.object(span.attributes) { metadata[key] = value }
        if let kind = kindName(span.kind) { metadata["span.kind"] = .string(kind) }
        if !span.traceState.isEmpty { metadata["trace_state"] = .string(span.traceState) }
        if !span.links.isEmpty {
            metadata["links"] = .array(span.links.compactMap { link -> JSONValue? in
                guard let trace = ids.traceID(link.traceID), let linked = ids.spanID(link.spanID) else { return nil }
                var object: [String: JSONValue] = [
                    "trace_id": .string("\(trace)"), "span_id": .string("\(linked)"),
                ]
                if !link.attributes.isEmpty { object["attributes"] = .object(OTLPAttributes.object(link.attributes)) }
                return .object(object)
            })
        }
        var status = SpanStatus.ok
        if span.status.code == .error {
            status = .error
            if !span.status.message.isEmpty { metadata["error.message"] = .string(span.status.message) }
        }
        let events = span.events.map { event in
            TraceEvent(
                name: event.name, timestamp: OTLPAttributes.date(nanoseconds: event.timeUnixNano) ?? start,
                attributes: OTLPAttributes.object(event.attributes))
        }
        return .success(Span(
            spanID: spanID, traceID: traceID, parentSpanID: parent, name: span.name, startTime: start, endTime: end,
            events: events, metadata: metadata, status: status))
    }

    /// `server`, `client`, `producer`, `consumer`, `internal`; `nil` when unspecified.
    static func kindName(_ kind: Opentelemetry_Proto_Trace_V1_Span.SpanKind) -> String? {
        switch kind {
        case .server: return "server"
        case .client: return "client"
        case .producer: return "producer"
        case .consumer: return "consumer"
        case .internal: return "internal"
        default: return nil
        }
    }
}
