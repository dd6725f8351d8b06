import Foundation
import StepflowCore
import StepflowWireFormats

/// Stored spans, log entries and samples as OTLP export requests (opentelemetry-proto v1.9.0), the reverse of the
/// receiver's mapping (docs/exporters.md, "OTLP").
public struct OTLPRequests: Sendable {
    /// The resource attributes every request carries: `service.name`, `host.name`, the external labels (other
    /// than `host`) and `exporters.otlp.resource_attributes`.
    public let resource: [(String, String)]

    /// - Parameters:
    ///   - serviceName: `exporters.otlp.service_name`.
    ///   - externalLabels: `exporters.external_labels` with the host name; `host` becomes `host.name`.
    ///   - attributes: `exporters.otlp.resource_attributes`, which win over the others.
    public init(serviceName: String, externalLabels: [Label], attributes: [String: String]) {
        var merged: [String: String] = ["service.name": serviceName]
        for label in externalLabels { merged[label.name == "host" ? "host.name" : label.name] = label.value }
        merged.merge(attributes) { _, configured in configured }
        resource = merged.sorted { $0.key < $1.key }
    }

    /// The instrumentation scope every request names.
    static let scopeName = "stepflow-monitor"

    /// The resource, with `service` as its `service.name` when given (a log entry's component).
    private func resourceMessage(overriding service: String? = nil) -> Opentelemetry_Proto_Resource_V1_Resource {
        var message = Opentelemetry_Proto_Resource_V1_Resource()
        message.attributes = resource.map { key, value in
            Self.pair(key, .string(key == "service.name" ? service ?? value : value))
        }
        return message
    }

    private var scope: Opentelemetry_Proto_Common_V1_InstrumentationScope {
        var scope = Opentelemetry_Proto_Common_V1_InstrumentationScope()
        scope.name = Self.scopeName
        return scope
    }

    // MARK: Traces

    /// Spans as one request: ids, parent, name, kind (`span.kind`), times, attributes, events, and status (`ok`
    /// as OK, `error` as ERROR with `error.message`; a span still open as UNSET).
    package func traces(_ spans: [Span]) -> Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest {
        var scopeSpans = Opentelemetry_Proto_Trace_V1_ScopeSpans()
        scopeSpans.scope = scope
        scopeSpans.spans = spans.map(Self.span)
        var resourceSpans = Opentelemetry_Proto_Trace_V1_ResourceSpans()
        resourceSpans.resource = resourceMessage()
        resourceSpans.scopeSpans = [scopeSpans]
        var request = Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest()
        request.resourceSpans = [resourceSpans]
        return request
    }

    static func span(_ span: Span) -> Opentelemetry_Proto_Trace_V1_Span {
        var message = Opentelemetry_Proto_Trace_V1_Span()
        message.traceID = Data(withUnsafeBytes(of: span.traceID.bytes) { Array($0) })
        message.spanID = Data(withUnsafeBytes(of: span.spanID.bytes) { Array($0) })
        if let parent = span.parentSpanID { message.parentSpanID = Data(withUnsafeBytes(of: parent.bytes) { Array($0) }) }
        message.name = span.name
        message.startTimeUnixNano = nanoseconds(span.startTime)
        message.endTimeUnixNano = nanoseconds(span.endTime ?? span.startTime)
        var attributes = span.metadata
        if case .string(let kind)? = attributes.removeValue(forKey: "span.kind") { message.kind = self.kind(kind) }
        if case .string(let state)? = attributes.removeValue(forKey: "trace_state") { message.traceState = state }
        let errorMessage = attributes.removeValue(forKey: "error.message")
        message.attributes = pairs(attributes)
        message.events = span.events.map { event in
            var converted = Opentelemetry_Proto_Trace_V1_Span.Event()
            converted.name = event.name
            converted.timeUnixNano = nanoseconds(event.timestamp)
            converted.attributes = pairs(event.attributes)
            return converted
        }
        switch span.status {
        case .ok:
            message.status.code = .ok
        case .error:
            message.status.code = .error
            if case .string(let text)? = errorMessage { message.status.message = text }
        default:
            message.status.code = .unset
        }
        if span.status != .error, let errorMessage { message.attributes.append(pair("error.message", errorMessage)) }
        return message
    }

    static func kind(_ name: String) -> Opentelemetry_Proto_Trace_V1_Span.SpanKind {
        switch name {
        case "server": return .server
        case "client": return .client
        case "producer": return .producer
        case "consumer": return .consumer
        case "internal": return .internal
        default: return .unspecified
        }
    }

    // MARK: Logs

    /// Log entries as one request, a resource per component (`service.name`, as the receiver reads it back): time,
    /// severity number and text, body, trace and span ids, the entry's fields as attributes with
    /// `code.function.name`, `code.file.path` (the module) and `code.line.number`.
    package func logs(_ entries: [LogEntry]) -> Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest {
        var order: [String] = []
        var byComponent: [String: [Opentelemetry_Proto_Logs_V1_LogRecord]] = [:]
        for entry in entries {
            if byComponent[entry.context.component] == nil { order.append(entry.context.component) }
            byComponent[entry.context.component, default: []].append(Self.record(entry))
        }
        var request = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest()
        request.resourceLogs = order.map { component in
            var scopeLogs = Opentelemetry_Proto_Logs_V1_ScopeLogs()
            scopeLogs.scope = scope
            scopeLogs.logRecords = byComponent[component] ?? []
            var resourceLogs = Opentelemetry_Proto_Logs_V1_ResourceLogs()
            resourceLogs.resource = resourceMessage(overriding: component.isEmpty ? nil : component)
            resourceLogs.scopeLogs = [scopeLogs]
            return resourceLogs
        }
        return request
    }

    static func record(_ entry: LogEntry) -> Opentelemetry_Proto_Logs_V1_LogRecord {
        var record = Opentelemetry_Proto_Logs_V1_LogRecord()
        record.timeUnixNano = nanoseconds(entry.timestamp)
        record.observedTimeUnixNano = record.timeUnixNano
        record.severityNumber = severity(entry.level)
        record.severityText = entry.level.rawValue.uppercased()
        record.body.stringValue = entry.message
        let context = entry.context
        if let trace = context.traceID.flatMap(TraceID.init(hex:)) {
            record.traceID = Data(withUnsafeBytes(of: trace.bytes) { Array($0) })
        }
        if let span = context.spanID.flatMap(SpanID.init(hex:)) {
            record.spanID = Data(withUnsafeBytes(of: span.bytes) { Array($0) })
        }
        var attributes = pairs(context.additionalFields)
        if !context.function.isEmpty { attributes.append(pair("code.function.name", .string(context.function))) }
        if !context.module.isEmpty { attributes.append(pair("code.file.path", .string(context.module))) }
        if let line = context.line { attributes.append(pair("code.line.number", .int(Int64(line)))) }
        if let user = context.userID { attributes.append(pair("user.id", .string(user))) }
        if let request = context.requestID { attributes.append(pair("http.request.id", .string(request))) }
        if !entry.source.isEmpty { attributes.append(pair("log.source", .string(entry.source))) }
        record.attributes = attributes
        return record
    }

    static func severity(_ level: LogLevel) -> Opentelemetry_Proto_Logs_V1_SeverityNumber {
        switch level {
        case .trace: return .trace
        case .debug: return .debug
        case .info: return .info
        case .warn: return .warn
        case .error: return .error
        case .fatal: return .fatal
        }
    }

    // MARK: Metrics

    /// Samples as one request, one metric per name (in first-seen order) with a data point per sample: gauges as
    /// Gauge, counters as a monotonic cumulative Sum, histograms as a cumulative Histogram (bucket counts per
    /// bucket, the last for +Inf), summaries as Summary; labels as attributes, HELP as the description.
    package func metrics(_ samples: [Metric]) -> Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceRequest {
        var order: [String] = []
        var byName: [String: Opentelemetry_Proto_Metrics_V1_Metric] = [:]
        for sample in samples {
            var metric = byName[sample.name] ?? {
                order.append(sample.name)
                var metric = Opentelemetry_Proto_Metrics_V1_Metric()
                metric.name = sample.name
                if let help = sample.help { metric.description_p = help }
                return metric
            }()
            Self.add(sample, to: &metric)
            byName[sample.name] = metric
        }
        var scopeMetrics = Opentelemetry_Proto_Metrics_V1_ScopeMetrics()
        scopeMetrics.scope = scope
        scopeMetrics.metrics = order.compactMap { byName[$0] }
        var resourceMetrics = Opentelemetry_Proto_Metrics_V1_ResourceMetrics()
        resourceMetrics.resource = resourceMessage()
        resourceMetrics.scopeMetrics = [scopeMetrics]
        var request = Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceRequest()
        request.resourceMetrics = [resourceMetrics]
        return request
    }

    static func add(_ sample: Metric, to metric: inout Opentelemetry_Proto_Metrics_V1_Metric) {
        let time = nanoseconds(sample.timestamp)
        let attributes = sample.labels.sorted().map { pair($0.name, .string($0.value)) }
        switch sample.value {
        case .gauge(let value):
            var point = Opentelemetry_Proto_Metrics_V1_NumberDataPoint()
            point.timeUnixNano = time
            point.asDouble = value
            point.attributes = attributes
            if case .gauge = metric.data {} else { metric.gauge = Opentelemetry_Proto_Metrics_V1_Gauge() }
            metric.gauge.dataPoints.append(point)
        case .counter(let value):
            var point = Opentelemetry_Proto_Metrics_V1_NumberDataPoint()
            point.timeUnixNano = time
            point.asDouble = value
            point.attributes = attributes
            if case .sum = metric.data {} else {
                metric.sum = Opentelemetry_Proto_Metrics_V1_Sum()
                metric.sum.isMonotonic = true
                metric.sum.aggregationTemporality = .cumulative
            }
            metric.sum.dataPoints.append(point)
        case .histogram(let histogram):
            var point = Opentelemetry_Proto_Metrics_V1_HistogramDataPoint()
            point.timeUnixNano = time
            point.attributes = attributes
            point.count = histogram.count
            point.sum = histogram.sum
            let finite = histogram.buckets.filter { $0.upperBound.isFinite }
            point.explicitBounds = finite.map(\.upperBound)
            var previous: UInt64 = 0
            for bucket in finite {
                point.bucketCounts.append(bucket.count >= previous ? bucket.count - previous : 0)
                previous = max(previous, bucket.count)
            }
            point.bucketCounts.append(histogram.count >= previous ? histogram.count - previous : 0)
            if case .histogram = metric.data {} else {
                metric.histogram = Opentelemetry_Proto_Metrics_V1_Histogram()
                metric.histogram.aggregationTemporality = .cumulative
            }
            metric.histogram.dataPoints.append(point)
        case .summary(let summary):
            var point = Opentelemetry_Proto_Metrics_V1_SummaryDataPoint()
            point.timeUnixNano = time
            point.attributes = attributes
            point.count = summary.count
            point.sum = summary.sum
            point.quantileValues = summary.quantiles.map { quantile in
                var value = Opentelemetry_Proto_Metrics_V1_SummaryDataPoint.ValueAtQuantile()
                value.quantile = quantile.quantile
                value.value = quantile.value
                return value
            }
            if case .summary = metric.data {} else { metric.summary = Opentelemetry_Proto_Metrics_V1_Summary() }
            metric.summary.dataPoints.append(point)
        }
    }

    // MARK: Values

    /// Unix nanoseconds from the stored milliseconds; 0 before 1970, the largest value past 2554 (where 64-bit
    /// nanoseconds end).
    static func nanoseconds(_ date: Date) -> UInt64 {
        let milliseconds = date.unixMilliseconds
        guard milliseconds > 0 else { return 0 }
        let (value, overflow) = UInt64(milliseconds).multipliedReportingOverflow(by: 1_000_000)
        return overflow ? .max : value
    }

    static func pairs(_ object: [String: JSONValue]) -> [Opentelemetry_Proto_Common_V1_KeyValue] {
        object.keys.sorted().map { pair($0, object[$0]!) }
    }

    static func pair(_ key: String, _ value: JSONValue) -> Opentelemetry_Proto_Common_V1_KeyValue {
        var pair = Opentelemetry_Proto_Common_V1_KeyValue()
        pair.key = key
        pair.value = anyValue(value)
        return pair
    }

    static func anyValue(_ value: JSONValue) -> Opentelemetry_Proto_Common_V1_AnyValue {
        var any = Opentelemetry_Proto_Common_V1_AnyValue()
        switch value {
        case .null: break
        case .bool(let flag): any.boolValue = flag
        case .int(let integer): any.intValue = integer
        case .double(let double): any.doubleValue = double
        case .string(let text): any.stringValue = text
        case .array(let values):
            var array = Opentelemetry_Proto_Common_V1_ArrayValue()
            array.values = values.map(anyValue)
            any.arrayValue = array
        case .object(let members):
            var list = Opentelemetry_Proto_Common_V1_KeyValueList()
            list.values = pairs(members)
            any.kvlistValue = list
        }
        return any
    }
}
