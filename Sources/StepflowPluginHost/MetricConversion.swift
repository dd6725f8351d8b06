import CStepflowPlugin
import Foundation
import StepflowCore

/// Why one `stepflow_metric` could not be converted: the reason plus a human-readable detail.
struct MetricRefusal: Error {
    let reason: MetricRefusalReason
    let detail: String
}

/// Copies C samples into `StepflowCore.Metric`, validating them. Runs during `emit_metrics`, while the
/// plugin's borrowed pointers are valid; nothing borrowed outlives a call.
enum MetricConversion {
    /// Converts one sample; `now` is used when `timestamp_ms` is 0.
    static func metric(from sample: stepflow_metric, now: Date) throws(MetricRefusal) -> Metric {
        let name = try text(sample.name, what: "metric name")
        guard !name.isEmpty else { throw MetricRefusal(reason: .emptyName, detail: "a sample has an empty name") }
        guard MetricNameRules.isValidMetricName(name) else {
            throw MetricRefusal(
                reason: .invalidMetricName, detail: "metric name '\(name)' does not match [a-zA-Z_:][a-zA-Z0-9_:]*")
        }
        let help = try text(sample.help, what: "help text of \(name)")
        let labels = try labels(sample.labels, count: sample.label_count, metric: name)
        let value = try value(of: sample, metric: name)

        let timestamp: Date
        switch sample.timestamp_ms {
        case 0: timestamp = now
        case let ms where ms < 0:
            throw MetricRefusal(reason: .invalidTimestamp, detail: "\(name) has a negative timestamp_ms \(ms)")
        case let ms: timestamp = Date(timeIntervalSince1970: Double(ms) / 1000)
        }

        return Metric(
            name: name, value: value, labels: labels, timestamp: timestamp,
            metadata: help.isEmpty ? [:] : ["help": .string(help)]
        )
    }

    /// Copies a borrowed UTF-8 slice, refusing NULL-with-length and invalid UTF-8.
    static func text(_ slice: stepflow_str, what: String) throws(MetricRefusal) -> String {
        if slice.len == 0 { return "" }
        guard let pointer = slice.ptr else {
            throw MetricRefusal(reason: .nullPointer, detail: "\(what) has length \(slice.len) but a NULL pointer")
        }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: slice.len)
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw MetricRefusal(reason: .invalidUTF8, detail: "\(what) is not valid UTF-8")
        }
        return string
    }

    /// Copies a borrowed slice for display, replacing invalid UTF-8 (log lines and error messages are never refused).
    static func lossyText(_ slice: stepflow_str) -> String {
        guard slice.len > 0, let pointer = slice.ptr else { return "" }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: slice.len)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func labels(
        _ pointer: UnsafePointer<stepflow_label>?, count: Int, metric: String
    ) throws(MetricRefusal) -> [Label] {
        guard count > 0 else { return [] }
        guard let pointer else {
            throw MetricRefusal(reason: .nullPointer, detail: "\(metric) has label_count \(count) but NULL labels")
        }
        var labels: [Label] = []
        labels.reserveCapacity(count)
        for index in 0..<count {
            let name = try text(pointer[index].name, what: "label name #\(index) of \(metric)")
            guard MetricNameRules.isValidLabelName(name) else {
                throw MetricRefusal(
                    reason: .invalidLabelName,
                    detail: "label name '\(name)' of \(metric) does not match [a-zA-Z_][a-zA-Z0-9_]* (or starts with the reserved __)")
            }
            let value = try text(pointer[index].value, what: "value of label \(name) of \(metric)")
            if labels.contains(where: { $0.name == name }) {
                throw MetricRefusal(reason: .duplicateLabelName, detail: "\(metric) has label '\(name)' twice")
            }
            labels.append(Label(name, value))
        }
        return labels
    }

    private static func value(of sample: stepflow_metric, metric: String) throws(MetricRefusal) -> MetricValue {
        switch UInt32(bitPattern: sample.type) {
        case STEPFLOW_METRIC_COUNTER.rawValue:
            let value = sample.value
            guard value.isFinite, value >= 0 else {
                throw MetricRefusal(
                    reason: .invalidCounterValue,
                    detail: "counter \(metric) has value \(value); a counter must be a finite number >= 0")
            }
            return .counter(value)
        case STEPFLOW_METRIC_GAUGE.rawValue:
            return .gauge(sample.value)
        case STEPFLOW_METRIC_HISTOGRAM.rawValue:
            return .histogram(try histogram(of: sample, metric: metric))
        case STEPFLOW_METRIC_SUMMARY.rawValue:
            return .summary(try summary(of: sample, metric: metric))
        default:
            throw MetricRefusal(reason: .unknownType, detail: "\(metric) has unknown type \(sample.type)")
        }
    }

    private static func histogram(of sample: stepflow_metric, metric: String) throws(MetricRefusal) -> HistogramValue {
        var buckets: [HistogramBucket] = []
        if sample.bucket_count > 0 {
            guard let pointer = sample.buckets else {
                throw MetricRefusal(
                    reason: .nullPointer, detail: "\(metric) has bucket_count \(sample.bucket_count) but NULL buckets")
            }
            buckets.reserveCapacity(sample.bucket_count)
            for index in 0..<sample.bucket_count {
                let bucket = pointer[index]
                guard !bucket.upper_bound.isNaN else {
                    throw MetricRefusal(reason: .invalidHistogram, detail: "\(metric) has a NaN bucket bound")
                }
                if let previous = buckets.last {
                    guard bucket.upper_bound > previous.upperBound else {
                        throw MetricRefusal(
                            reason: .invalidHistogram,
                            detail: "\(metric) bucket bounds are not strictly ascending "
                                + "(\(previous.upperBound) then \(bucket.upper_bound))")
                    }
                    guard bucket.count >= previous.count else {
                        throw MetricRefusal(
                            reason: .invalidHistogram, detail: "\(metric) bucket counts are not cumulative")
                    }
                }
                guard bucket.count <= sample.count else {
                    throw MetricRefusal(
                        reason: .invalidHistogram,
                        detail: "\(metric) bucket le=\(bucket.upper_bound) counts \(bucket.count), more than count \(sample.count)")
                }
                buckets.append(HistogramBucket(upperBound: bucket.upper_bound, count: bucket.count))
            }
        }
        // The +Inf bucket is implied by `count`; an explicit one is dropped when it agrees.
        if let last = buckets.last, last.upperBound == .infinity {
            guard last.count == sample.count else {
                throw MetricRefusal(
                    reason: .invalidHistogram, detail: "\(metric) +Inf bucket count differs from count")
            }
            buckets.removeLast()
        }
        return HistogramValue(sum: sample.sum, count: sample.count, buckets: buckets)
    }

    private static func summary(of sample: stepflow_metric, metric: String) throws(MetricRefusal) -> SummaryValue {
        var quantiles: [Quantile] = []
        if sample.quantile_count > 0 {
            guard let pointer = sample.quantiles else {
                throw MetricRefusal(
                    reason: .nullPointer,
                    detail: "\(metric) has quantile_count \(sample.quantile_count) but NULL quantiles")
            }
            quantiles.reserveCapacity(sample.quantile_count)
            for index in 0..<sample.quantile_count {
                let quantile = pointer[index]
                guard quantile.quantile >= 0, quantile.quantile <= 1 else {
                    throw MetricRefusal(
                        reason: .invalidSummary, detail: "\(metric) has quantile \(quantile.quantile) outside [0, 1]")
                }
                quantiles.append(Quantile(quantile: quantile.quantile, value: quantile.value))
            }
        }
        return SummaryValue(sum: sample.sum, count: sample.count, quantiles: quantiles)
    }
}
