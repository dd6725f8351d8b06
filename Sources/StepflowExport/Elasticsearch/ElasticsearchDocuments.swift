import Crypto
import Foundation
import StepflowCore
import StepflowSecurity

/// A document for the `_bulk` API: its id (so that a request sent again after a lost answer creates nothing
/// twice: `create` answers 409 for an id that exists) and its JSON source.
public struct ElasticsearchDocument: Sendable {
    public var id: String
    public var source: JSONValue
}

/// How stored data becomes Elasticsearch documents: field names after the Elastic Common Schema (ECS), every
/// document with `@timestamp` so that data streams take it (docs/exporters.md, "Elasticsearch documents").
public enum ElasticsearchDocuments {
    /// A log entry: `@timestamp`, `message`, `log.level`, `service.name` (the component), `log.logger` (the
    /// module), `log.origin.function`, `log.origin.file.line`, `trace.id`, `span.id`, `user.id`,
    /// `http.request.id`, `event.dataset` (the source), and the entry's own fields under `fields`. Its id is the
    /// entry's.
    public static func log(_ entry: LogEntry, externalLabels: [Label] = []) -> ElasticsearchDocument {
        let context = entry.context
        var source: [String: JSONValue] = [
            "@timestamp": .string(entry.timestamp.rfc3339), "message": .string(entry.message),
            "log.level": .string(entry.level.rawValue), "event.dataset": .string(entry.source),
        ]
        if !context.component.isEmpty { source["service.name"] = .string(context.component) }
        if !context.module.isEmpty { source["log.logger"] = .string(context.module) }
        if !context.function.isEmpty { source["log.origin.function"] = .string(context.function) }
        if let line = context.line { source["log.origin.file.line"] = .int(Int64(line)) }
        if let trace = context.traceID { source["trace.id"] = .string(trace) }
        if let span = context.spanID { source["span.id"] = .string(span) }
        if let user = context.userID { source["user.id"] = .string(user) }
        if let request = context.requestID { source["http.request.id"] = .string(request) }
        if !context.additionalFields.isEmpty { source["fields"] = .object(context.additionalFields) }
        addLabels(externalLabels, to: &source)
        return ElasticsearchDocument(id: entry.id.rawValue, source: .object(source))
    }

    /// A sample: `@timestamp`, `metric.name`, `metric.type`, its labels under `labels`; `metric.value` for
    /// counters and gauges; `metric.sum`, `metric.count` and `metric.buckets` (`le`, cumulative `count`) for
    /// histograms; `metric.sum`, `metric.count` and `metric.quantiles` (`quantile`, `value`) for summaries. Its
    /// id is a digest of name, labels and time: one document per sample.
    public static func metric(_ metric: Metric, externalLabels: [Label] = []) -> ElasticsearchDocument {
        var source: [String: JSONValue] = [
            "@timestamp": .string(metric.timestamp.rfc3339), "metric.name": .string(metric.name),
            "metric.type": .string(metric.value.type.rawValue),
        ]
        switch metric.value {
        case .counter(let value), .gauge(let value):
            source["metric.value"] = number(value)
        case .histogram(let histogram):
            source["metric.sum"] = number(histogram.sum)
            source["metric.count"] = .int(Int64(clamping: histogram.count))
            source["metric.buckets"] = .array(histogram.buckets.map {
                .object(["le": number($0.upperBound), "count": .int(Int64(clamping: $0.count))])
            })
        case .summary(let summary):
            source["metric.sum"] = number(summary.sum)
            source["metric.count"] = .int(Int64(clamping: summary.count))
            source["metric.quantiles"] = .array(summary.quantiles.map {
                .object(["quantile": number($0.quantile), "value": number($0.value)])
            })
        }
        let labels = metric.labels.sorted()
        if !labels.isEmpty {
            source["labels"] = .object(Dictionary(labels.map { ($0.name, .string($0.value)) }, uniquingKeysWith: { _, last in last }))
        }
        addLabels(externalLabels, to: &source)
        var digest = SHA256()
        digest.update(data: Array(metric.name.utf8))
        for label in labels {
            digest.update(data: [0])
            digest.update(data: Array(label.name.utf8))
            digest.update(data: [0])
            digest.update(data: Array(label.value.utf8))
        }
        digest.update(data: [0] + Array(String(metric.timestamp.unixMilliseconds).utf8))
        let id = TokenDigest.hex(bytes: Array(digest.finalize().prefix(16)))
        return ElasticsearchDocument(id: id, source: .object(source))
    }

    /// A span: `@timestamp` (its start), `trace.id`, `span.id`, `parent.id`, `span.name`, `span.kind`,
    /// `event.duration` (nanoseconds), `event.outcome` (`success` or `failure`), `span.status`, its events
    /// (`name`, `@timestamp`, `attributes`) and its attributes under `attributes`. Its id is `<trace>-<span>`.
    public static func span(_ span: Span, externalLabels: [Label] = []) -> ElasticsearchDocument {
        var source: [String: JSONValue] = [
            "@timestamp": .string(span.startTime.rfc3339), "trace.id": .string(span.traceID.description),
            "span.id": .string(span.spanID.description), "span.name": .string(span.name),
            "span.status": .string(span.status.rawValue),
            "event.outcome": .string(span.status == .error ? "failure" : "success"),
        ]
        if let parent = span.parentSpanID { source["parent.id"] = .string(parent.description) }
        if let end = span.endTime {
            // Stored times are years 1970-9999: a duration past Int64 nanoseconds (292 years) is clamped.
            let nanoseconds = (end.timeIntervalSince(span.startTime) * 1e9).rounded()
            source["event.duration"] = .int(Int64(exactly: nanoseconds) ?? (nanoseconds > 0 ? .max : 0))
            source["event.end"] = .string(end.rfc3339)
        }
        var attributes = span.metadata
        if case .string(let kind)? = attributes.removeValue(forKey: "span.kind") { source["span.kind"] = .string(kind) }
        if !attributes.isEmpty { source["attributes"] = .object(attributes) }
        if !span.events.isEmpty {
            source["span.events"] = .array(span.events.map { event in
                var object: [String: JSONValue] = ["name": .string(event.name), "@timestamp": .string(event.timestamp.rfc3339)]
                if !event.attributes.isEmpty { object["attributes"] = .object(event.attributes) }
                return .object(object)
            })
        }
        addLabels(externalLabels, to: &source)
        return ElasticsearchDocument(id: "\(span.traceID)-\(span.spanID)", source: .object(source))
    }

    /// Numbers as JSON numbers; NaN and the infinities, which JSON has not, as strings (`"+Inf"`, as Prometheus).
    static func number(_ value: Double) -> JSONValue {
        if value.isFinite { return .double(value) }
        return .string(value.isNaN ? "NaN" : value > 0 ? "+Inf" : "-Inf")
    }

    /// The host's external labels (`exporters.external_labels`) as ECS `labels`, without replacing a label of the
    /// sample's own.
    static func addLabels(_ labels: [Label], to source: inout [String: JSONValue]) {
        guard !labels.isEmpty else { return }
        var object: [String: JSONValue] = [:]
        if case .object(let own)? = source["labels"] { object = own }
        for label in labels where object[label.name] == nil { object[label.name] = .string(label.value) }
        source["labels"] = .object(object)
    }
}
