import Foundation
import StepflowCore

/// The JSON of the logs and traces API, in and out. Entries go out as ``LogEntryJSON`` writes them.
enum LogTraceJSON {
    // MARK: Logs in

    static let logKeys = [
        "id", "level", "message", "timestamp", "source", "component", "module", "function", "line", "trace_id",
        "span_id", "request_id", "user_id", "fields", "metadata",
    ]

    /// The body `{"logs": [...]}`: the entries that could be read, with their positions, and an error for each
    /// item that could not.
    static func logs(_ body: [UInt8], now: Date) throws(MonitoringError) -> (
        entries: [(index: Int, entry: LogEntry)], errors: [MetricJSON.ItemError]
    ) {
        let items = try array(body, key: "logs", example: #"{"logs": [{"level": "info", "message": "started"}]}"#)
        var entries: [(index: Int, entry: LogEntry)] = []
        var errors: [MetricJSON.ItemError] = []
        for (index, item) in items.enumerated() {
            switch entry(from: item, now: now) {
            case .success(let entry): entries.append((index, entry))
            case .failure(let message): errors.append(MetricJSON.ItemError(index: index, name: nil, message: message.text))
            }
        }
        return (entries, errors)
    }

    struct Failure: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    private static func entry(from item: JSONValue, now: Date) -> Result<LogEntry, Failure> {
        guard case .object(let fields) = item else {
            return .failure(Failure("expected an object, found \(MetricJSON.kind(of: item))"))
        }
        if let unknown = fields.keys.sorted().first(where: { !logKeys.contains($0) }) {
            return .failure(Failure("unknown key \"\(unknown)\"" + suggestion(unknown, logKeys)))
        }
        guard case .string(let levelText)? = fields["level"] else {
            return .failure(Failure("\"level\" is required: one of " + LogLevel.allCases.map(\.rawValue).joined(separator: ", ")))
        }
        guard let level = LogLevel(parsing: levelText) else {
            return .failure(Failure(
                "unknown log level \"\(levelText)\"; use one of " + LogLevel.allCases.map(\.rawValue).joined(separator: ", ")))
        }
        guard case .string(let message)? = fields["message"] else {
            return .failure(Failure("\"message\" is required and must be a string"))
        }
        var texts: [String: String] = [:]
        for key in ["id", "source", "component", "module", "function", "trace_id", "span_id", "request_id", "user_id"] {
            switch fields[key] {
            case nil, .null?: break
            case .string(let text)?: texts[key] = text
            case let other?: return .failure(Failure("\"\(key)\" must be a string, found \(MetricJSON.kind(of: other))"))
            }
        }
        if let trace = texts["trace_id"], TraceID(hex: trace) == nil {
            return .failure(Failure("trace_id \"\(trace.prefix(64))\" is not a W3C trace id (32 hex digits)"))
        }
        if let span = texts["span_id"], SpanID(hex: span) == nil {
            return .failure(Failure("span_id \"\(span.prefix(64))\" is not a W3C span id (16 hex digits)"))
        }
        var line: UInt32?
        switch fields["line"] {
        case nil, .null?: break
        case .int(let number)? where number >= 0 && number <= Int64(UInt32.max): line = UInt32(number)
        case let other?: return .failure(Failure("\"line\" must be an integer >= 0, found \(MetricJSON.kind(of: other))"))
        }
        let timestamp: Date
        switch time(fields["timestamp"], key: "timestamp") {
        case .success(let date): timestamp = date ?? now
        case .failure(let failure): return .failure(failure)
        }
        var additional: [String: JSONValue] = [:]
        var metadata: [String: JSONValue] = [:]
        for (key, target) in [("fields", 0), ("metadata", 1)] {
            switch fields[key] {
            case nil, .null?: break
            case .object(let members)?: if target == 0 { additional = members } else { metadata = members }
            case let other?: return .failure(Failure("\"\(key)\" must be an object, found \(MetricJSON.kind(of: other))"))
            }
        }
        let context = LogContext(
            component: texts["component"] ?? "", module: texts["module"] ?? "", function: texts["function"] ?? "",
            line: line, traceID: texts["trace_id"], spanID: texts["span_id"], userID: texts["user_id"],
            requestID: texts["request_id"], additionalFields: additional)
        return .success(LogEntry(
            id: texts["id"].map(LogID.init) ?? .random(), level: level, message: message, context: context,
            timestamp: timestamp, source: texts["source"] ?? "", metadata: metadata))
    }

    // MARK: Spans in

    static let spanKeys = [
        "trace_id", "span_id", "parent_span_id", "name", "start_time", "end_time", "status", "attributes", "events",
    ]

    /// The body `{"spans": [...]}`: the spans that could be read, with their positions, and an error for each item
    /// that could not.
    static func spans(_ body: [UInt8]) throws(MonitoringError) -> (
        spans: [(index: Int, span: Span)], errors: [MetricJSON.ItemError]
    ) {
        let items = try array(
            body, key: "spans",
            example: #"{"spans": [{"trace_id": "<32 hex>", "span_id": "<16 hex>", "name": "GET /", "start_time": "…", "end_time": "…", "status": "ok"}]}"#)
        var spans: [(index: Int, span: Span)] = []
        var errors: [MetricJSON.ItemError] = []
        for (index, item) in items.enumerated() {
            switch span(from: item) {
            case .success(let span): spans.append((index, span))
            case .failure(let failure): errors.append(MetricJSON.ItemError(index: index, name: nil, message: failure.text))
            }
        }
        return (spans, errors)
    }

    private static func span(from item: JSONValue) -> Result<Span, Failure> {
        guard case .object(let fields) = item else {
            return .failure(Failure("expected an object, found \(MetricJSON.kind(of: item))"))
        }
        if let unknown = fields.keys.sorted().first(where: { !spanKeys.contains($0) }) {
            return .failure(Failure("unknown key \"\(unknown)\"" + suggestion(unknown, spanKeys)))
        }
        guard case .string(let traceText)? = fields["trace_id"], let traceID = TraceID(hex: traceText) else {
            return .failure(Failure("\"trace_id\" is required: a W3C trace id (32 hex digits, not all zero)"))
        }
        guard case .string(let spanText)? = fields["span_id"], let spanID = SpanID(hex: spanText) else {
            return .failure(Failure("\"span_id\" is required: a W3C span id (16 hex digits, not all zero)"))
        }
        var parent: SpanID?
        switch fields["parent_span_id"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let id = SpanID(hex: text) else {
                return .failure(Failure("\"parent_span_id\" \"\(text.prefix(40))\" is not a W3C span id (16 hex digits)"))
            }
            parent = id
        case let other?: return .failure(Failure("\"parent_span_id\" must be a string, found \(MetricJSON.kind(of: other))"))
        }
        guard case .string(let name)? = fields["name"], !name.isEmpty else {
            return .failure(Failure("\"name\" is required: the operation, e.g. \"GET /api\""))
        }
        let start: Date
        let end: Date
        switch (time(fields["start_time"], key: "start_time"), time(fields["end_time"], key: "end_time")) {
        case (.success(let from?), .success(let to?)): (start, end) = (from, to)
        case (.failure(let failure), _), (_, .failure(let failure)): return .failure(failure)
        default: return .failure(Failure("\"start_time\" and \"end_time\" are required"))
        }
        guard end >= start else { return .failure(Failure("the span ends before it starts")) }
        var status = SpanStatus.ok
        switch fields["status"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let parsed = SpanStatus(rawValue: text), parsed != .started else {
                return .failure(Failure("\"status\" must be ok, error, timed_out or cancelled, found \"\(text)\""))
            }
            status = parsed
        case let other?: return .failure(Failure("\"status\" must be a string, found \(MetricJSON.kind(of: other))"))
        }
        var attributes: [String: JSONValue] = [:]
        switch fields["attributes"] {
        case nil, .null?: break
        case .object(let members)?: attributes = members
        case let other?: return .failure(Failure("\"attributes\" must be an object, found \(MetricJSON.kind(of: other))"))
        }
        var events: [TraceEvent] = []
        switch fields["events"] {
        case nil, .null?: break
        case .array(let items)?:
            for (position, item) in items.enumerated() {
                guard case .object(let event) = item, case .string(let eventName)? = event["name"] else {
                    return .failure(Failure("events[\(position)] must be {\"name\", \"timestamp\", \"attributes\"}"))
                }
                var eventAttributes: [String: JSONValue] = [:]
                if case .object(let members)? = event["attributes"] { eventAttributes = members }
                switch time(event["timestamp"], key: "events[\(position)].timestamp") {
                case .success(let date):
                    events.append(TraceEvent(name: eventName, timestamp: date ?? start, attributes: eventAttributes))
                case .failure(let failure): return .failure(failure)
                }
            }
        case let other?: return .failure(Failure("\"events\" must be an array, found \(MetricJSON.kind(of: other))"))
        }
        return .success(Span(
            spanID: spanID, traceID: traceID, parentSpanID: parent, name: name, startTime: start, endTime: end,
            events: events, metadata: attributes, status: status, sampled: true))
    }

    // MARK: Traces out

    static func span(_ span: Span, depth: Int) -> JSONValue {
        var object: [String: JSONValue] = [
            "trace_id": .string(span.traceID.description), "span_id": .string(span.spanID.description),
            "name": .string(span.name), "start_time": .string(MetricJSON.timestamp(span.startTime)),
            "status": .string(span.status.rawValue), "depth": .int(Int64(depth)),
        ]
        if let parent = span.parentSpanID { object["parent_span_id"] = .string(parent.description) }
        if let end = span.endTime {
            object["end_time"] = .string(MetricJSON.timestamp(end))
            object["duration_ms"] = .double((end.timeIntervalSince(span.startTime) * 1_000_000).rounded() / 1000)
        }
        if !span.metadata.isEmpty { object["attributes"] = .object(span.metadata) }
        if !span.events.isEmpty {
            object["events"] = .array(span.events.map { event in
                .object([
                    "name": .string(event.name), "timestamp": .string(MetricJSON.timestamp(event.timestamp)),
                    "attributes": .object(event.attributes),
                ])
            })
        }
        return .object(object)
    }

    /// A trace with its spans in tree order, each with its depth below the root.
    static func trace(_ trace: Trace) -> JSONValue {
        var depth: [SpanID: Int] = [:]
        var spans: [JSONValue] = []
        for span in trace.spans {
            let level = span.parentSpanID.flatMap { depth[$0].map { $0 + 1 } } ?? 0
            depth[span.spanID] = level
            spans.append(Self.span(span, depth: level))
        }
        return .object([
            "trace_id": .string(trace.traceID.description), "start_time": .string(MetricJSON.timestamp(trace.startTime)),
            "end_time": .string(MetricJSON.timestamp(trace.endTime)),
            "duration_ms": .int(trace.duration.clampedMilliseconds), "span_count": .int(Int64(trace.spans.count)),
            "spans": .array(spans),
        ])
    }

    static func stats(_ stats: TraceStats) -> JSONValue {
        func milliseconds(_ duration: Duration) -> JSONValue { .double(duration.inSeconds * 1000) }
        return .object([
            "traces": .int(Int64(stats.traces)), "spans": .int(Int64(stats.spans)),
            "operations": .array(stats.operations.map { operation in
                .object([
                    "operation": .string(operation.operation), "count": .int(Int64(operation.count)),
                    "error_rate": .double(operation.errorRate), "p50_ms": milliseconds(operation.p50),
                    "p95_ms": milliseconds(operation.p95), "p99_ms": milliseconds(operation.p99),
                ])
            }),
        ])
    }

    static func stats(_ stats: LogStats) -> JSONValue {
        var object: [String: JSONValue] = [
            "total": .int(Int64(stats.total)),
            "by_level": .object(Dictionary(uniqueKeysWithValues: stats.byLevel.map { ($0.key.rawValue, JSONValue.int(Int64($0.value))) })),
            "by_component": .object(stats.byComponent.mapValues { .int(Int64($0)) }),
            "rate_per_minute": .double(stats.ratePerMinute),
        ]
        if let first = stats.first { object["first"] = .string(MetricJSON.timestamp(first)) }
        if let last = stats.last { object["last"] = .string(MetricJSON.timestamp(last)) }
        return .object(object)
    }

    // MARK: Helpers

    /// The array under `key` of a body `{key: [...]}`.
    static func array(_ body: [UInt8], key: String, example: String) throws(MonitoringError) -> [JSONValue] {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw .invalidQuery("the body is not valid JSON: \(MetricJSON.describe(error))", hint: "send \(example)")
        }
        guard case .object(let members) = root, case .array(let items)? = members[key] else {
            throw .invalidQuery("the body must be a JSON object with a \"\(key)\" array", hint: "send \(example)")
        }
        if let unknown = members.keys.sorted().first(where: { $0 != key }) {
            throw .invalidQuery("unknown key \"\(unknown)\" in the body; it holds only \"\(key)\"", hint: "send \(example)")
        }
        return items
    }

    /// A time as Unix milliseconds or RFC 3339 within ``ValidTime``; `nil` when absent.
    static func time(_ value: JSONValue?, key: String) -> Result<Date?, Failure> {
        RequestParameters.jsonTime(value, key: key).mapError { Failure($0.message) }
    }

    static func suggestion(_ key: String, _ keys: [String]) -> String {
        MetricJSON.suggestion(for: key, among: keys)
    }
}
