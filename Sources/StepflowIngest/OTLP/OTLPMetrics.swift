import Foundation
import StepflowCore
import StepflowWireFormats

/// OTLP metrics as the host's samples, the way OpenTelemetry's Prometheus exporters translate them
/// (docs/ingest.md, "OTLP: mapping").
enum OTLPMetrics {
    /// The samples of a request, and for each data point that cannot be one, why.
    static func samples(
        _ request: Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceRequest, now: Date
    ) -> (metrics: [Metric], rejected: [String]) {
        var metrics: [Metric] = []
        var rejected: [String] = []
        for resourceMetrics in request.resourceMetrics {
            let target = targetLabels(resourceMetrics.resource.attributes)
            for scopeMetrics in resourceMetrics.scopeMetrics {
                for metric in scopeMetrics.metrics {
                    convert(metric, target: target, now: now, into: &metrics, rejected: &rejected)
                }
            }
        }
        return (metrics, rejected)
    }

    /// The data points of a request, of every kind.
    static func pointCount(_ request: Opentelemetry_Proto_Collector_Metrics_V1_ExportMetricsServiceRequest) -> Int {
        var count = 0
        for resourceMetrics in request.resourceMetrics {
            for scopeMetrics in resourceMetrics.scopeMetrics {
                for metric in scopeMetrics.metrics {
                    switch metric.data {
                    case .gauge(let gauge)?: count += gauge.dataPoints.count
                    case .sum(let sum)?: count += sum.dataPoints.count
                    case .histogram(let histogram)?: count += histogram.dataPoints.count
                    case .exponentialHistogram(let histogram)?: count += histogram.dataPoints.count
                    case .summary(let summary)?: count += summary.dataPoints.count
                    case nil: break
                    }
                }
            }
        }
        return count
    }

    /// `job` (`service.namespace/service.name`) and `instance` (`service.instance.id`), as OpenTelemetry's
    /// Prometheus exporters label a resource.
    static func targetLabels(_ attributes: [Opentelemetry_Proto_Common_V1_KeyValue]) -> [Label] {
        var labels: [Label] = []
        if let service = OTLPAttributes.string("service.name", in: attributes) {
            let namespace = OTLPAttributes.string("service.namespace", in: attributes)
            labels.append(Label("job", namespace.map { "\($0)/\(service)" } ?? service))
        }
        if let instance = OTLPAttributes.string("service.instance.id", in: attributes) {
            labels.append(Label("instance", instance))
        }
        return labels
    }

    /// A name with every character Prometheus does not allow replaced by `_` (and `_` before a leading digit).
    static func sanitize(_ name: String, colons: Bool) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            let allowed = ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_" || (colons && scalar == ":")
            scalars.append(allowed ? scalar : "_")
        }
        var text = String(scalars)
        if let first = text.unicodeScalars.first, ("0"..."9").contains(first) { text = "_" + text }
        return text.isEmpty ? "_" : text
    }

    /// The most attributes a data point may have; one with more is rejected (no series may have that many
    /// labels anyway, and merging them is quadratic).
    static let maxAttributes = 128

    /// The point's labels, or `nil` past ``maxAttributes``. A later attribute of the same (sanitized) name wins.
    static func labels(_ attributes: [Opentelemetry_Proto_Common_V1_KeyValue], target: [Label]) -> [Label]? {
        guard attributes.count <= maxAttributes else { return nil }
        var labels = target
        for pair in attributes {
            let name = sanitize(pair.key, colons: false)
            let value = OTLPAttributes.text(pair.value)
            labels.removeAll { $0.name == name }
            labels.append(Label(name, value))
        }
        return labels.sorted { $0.name < $1.name }
    }


    static let noRecordedValue: UInt32 = 1

    static func convert(
        _ metric: Opentelemetry_Proto_Metrics_V1_Metric, target: [Label], now: Date, into metrics: inout [Metric],
        rejected: inout [String]
    ) {
        let base = sanitize(metric.name, colons: true)
        var metadata: [String: JSONValue] = [:]
        if !metric.description_p.isEmpty { metadata["help"] = .string(metric.description_p) }
        func time(_ nanoseconds: UInt64) -> Date { OTLPAttributes.date(nanoseconds: nanoseconds) ?? now }
        let tooMany = "\(MetricNameRules.shown(metric.name)): a data point with more than \(maxAttributes) attributes"
        switch metric.data {
        case .gauge(let gauge)?:
            for point in gauge.dataPoints where point.flags & noRecordedValue == 0 {
                guard let pointLabels = labels(point.attributes, target: target) else {
                    rejected.append(tooMany)
                    continue
                }
                metrics.append(Metric(
                    name: base, value: .gauge(number(point)), labels: pointLabels,
                    timestamp: time(point.timeUnixNano), metadata: metadata))
            }
        case .sum(let sum)?:
            let counter = sum.isMonotonic
            if counter, sum.aggregationTemporality != .cumulative {
                rejected += Array(repeating: "\(MetricNameRules.shown(metric.name)): delta sums are not supported; send cumulative ones", count: sum.dataPoints.count)
                return
            }
            let name = counter && !base.hasSuffix("_total") ? base + "_total" : base
            for point in sum.dataPoints where point.flags & noRecordedValue == 0 {
                guard let pointLabels = labels(point.attributes, target: target) else {
                    rejected.append(tooMany)
                    continue
                }
                let value = number(point)
                metrics.append(Metric(
                    name: name, value: counter ? .counter(value) : .gauge(value),
                    labels: pointLabels, timestamp: time(point.timeUnixNano),
                    metadata: metadata))
            }
        case .histogram(let histogram)?:
            guard histogram.aggregationTemporality == .cumulative else {
                rejected += Array(repeating: "\(MetricNameRules.shown(metric.name)): delta histograms are not supported; send cumulative ones", count: histogram.dataPoints.count)
                return
            }
            for point in histogram.dataPoints where point.flags & noRecordedValue == 0 {
                guard let pointLabels = labels(point.attributes, target: target) else {
                    rejected.append(tooMany)
                    continue
                }
                guard point.bucketCounts.count == point.explicitBounds.count + 1 || point.bucketCounts.isEmpty else {
                    rejected.append("\(MetricNameRules.shown(metric.name)): \(point.bucketCounts.count) bucket counts for \(point.explicitBounds.count) bounds")
                    continue
                }
                var cumulative: UInt64 = 0
                var buckets: [HistogramBucket] = []
                for (bound, count) in zip(point.explicitBounds, point.bucketCounts) {
                    cumulative = cumulative.addingReportingOverflow(count).partialValue
                    buckets.append(HistogramBucket(upperBound: bound, count: cumulative))
                }
                metrics.append(Metric(
                    name: base, value: .histogram(HistogramValue(sum: point.hasSum ? point.sum : 0, count: point.count, buckets: buckets)),
                    labels: pointLabels, timestamp: time(point.timeUnixNano),
                    metadata: metadata))
            }
        case .summary(let summary)?:
            for point in summary.dataPoints where point.flags & noRecordedValue == 0 {
                guard let pointLabels = labels(point.attributes, target: target) else {
                    rejected.append(tooMany)
                    continue
                }
                metrics.append(Metric(
                    name: base,
                    value: .summary(SummaryValue(
                        sum: point.sum, count: point.count,
                        quantiles: point.quantileValues.map { Quantile(quantile: $0.quantile, value: $0.value) })),
                    labels: pointLabels, timestamp: time(point.timeUnixNano),
                    metadata: metadata))
            }
        case .exponentialHistogram(let histogram)?:
            rejected += Array(
                repeating: "\(MetricNameRules.shown(metric.name)): exponential histograms are not supported; configure explicit buckets",
                count: histogram.dataPoints.count)
        case nil:
            rejected.append("\(MetricNameRules.shown(metric.name)): a metric without data")
        }
    }

    static func number(_ point: Opentelemetry_Proto_Metrics_V1_NumberDataPoint) -> Double {
        switch point.value {
        case .asDouble(let value)?: return value
        case .asInt(let value)?: return Double(value)
        case nil: return 0
        }
    }
}
