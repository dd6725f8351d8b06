/// The message fields of the OTLP requests (opentelemetry-proto v1.9.0, the `.proto` files under
/// `Sources/StepflowWireFormats/OTLP/proto`), for the census taken before a protobuf request is decoded; spans, log
/// records and data points are its items.
enum OTLPSchema: WireSchema {
    case traceRequest, resourceSpans, scopeSpans, span, spanEvent, spanLink, spanStatus
    case logsRequest, resourceLogs, scopeLogs, logRecord
    case metricsRequest, resourceMetrics, scopeMetrics, metric, numberPoints, numberPoint, histogramPoints, histogramPoint
    case exponentialPoints, exponentialPoint, exponentialBuckets, summaryPoints, summaryPoint, quantile, exemplar
    case resource, entityReference, scope, keyValue, anyValue, arrayValue, keyValueList

    /// The request message of `signal`.
    static func request(_ signal: OTLPReceiver.Signal) -> OTLPSchema {
        switch signal {
        case .traces: return .traceRequest
        case .logs: return .logsRequest
        case .metrics: return .metricsRequest
        }
    }

    var isItem: Bool {
        switch self {
        case .span, .logRecord, .numberPoint, .histogramPoint, .exponentialPoint, .summaryPoint: return true
        default: return false
        }
    }

    func field(_ number: UInt64) -> WireField<OTLPSchema> {
        switch (self, number) {
        case (.traceRequest, 1): return .message(.resourceSpans)
        case (.resourceSpans, 1), (.resourceLogs, 1), (.resourceMetrics, 1): return .message(.resource)
        case (.resourceSpans, 2): return .message(.scopeSpans)
        case (.scopeSpans, 1), (.scopeLogs, 1), (.scopeMetrics, 1): return .message(.scope)
        case (.scopeSpans, 2): return .message(.span)
        case (.span, 9), (.spanEvent, 3), (.spanLink, 4): return .message(.keyValue)
        case (.span, 11): return .message(.spanEvent)
        case (.span, 13): return .message(.spanLink)
        case (.span, 15): return .message(.spanStatus)

        case (.logsRequest, 1): return .message(.resourceLogs)
        case (.resourceLogs, 2): return .message(.scopeLogs)
        case (.scopeLogs, 2): return .message(.logRecord)
        case (.logRecord, 5): return .message(.anyValue)
        case (.logRecord, 6): return .message(.keyValue)

        case (.metricsRequest, 1): return .message(.resourceMetrics)
        case (.resourceMetrics, 2): return .message(.scopeMetrics)
        case (.scopeMetrics, 2): return .message(.metric)
        // gauge, sum, histogram, exponential histogram, summary: the data points are field 1 of each.
        case (.metric, 5), (.metric, 7): return .message(.numberPoints)
        case (.metric, 9): return .message(.histogramPoints)
        case (.metric, 10): return .message(.exponentialPoints)
        case (.metric, 11): return .message(.summaryPoints)
        case (.metric, 12): return .message(.keyValue)
        case (.numberPoints, 1): return .message(.numberPoint)
        case (.histogramPoints, 1): return .message(.histogramPoint)
        case (.exponentialPoints, 1): return .message(.exponentialPoint)
        case (.summaryPoints, 1): return .message(.summaryPoint)
        case (.numberPoint, 7), (.histogramPoint, 9), (.exponentialPoint, 1), (.summaryPoint, 7), (.exemplar, 7):
            return .message(.keyValue)
        case (.numberPoint, 5), (.histogramPoint, 8), (.exponentialPoint, 11): return .message(.exemplar)
        case (.exponentialPoint, 8), (.exponentialPoint, 9): return .message(.exponentialBuckets)
        case (.exponentialBuckets, 2): return .varints
        case (.summaryPoint, 6): return .message(.quantile)

        case (.resource, 1), (.scope, 3), (.keyValueList, 1): return .message(.keyValue)
        case (.resource, 3): return .message(.entityReference)
        case (.entityReference, 3), (.entityReference, 4): return .strings
        case (.keyValue, 2), (.arrayValue, 1): return .message(.anyValue)
        case (.anyValue, 5): return .message(.arrayValue)
        case (.anyValue, 6): return .message(.keyValueList)
        default: return .scalar
        }
    }
}
