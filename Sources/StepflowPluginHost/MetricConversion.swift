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
///
/// The hot path works on the raw bytes: lengths are checked against ``MetricLimits`` before anything is read,
/// names, label values and HELP texts go through the instance's ``StringInterner`` (so a repeated one is
/// neither validated nor allocated again), and the detail of a refusal is only formatted when there is one.
enum MetricConversion {
    /// Converts one sample; `now` is used when `timestamp_ms` is 0.
    static func metric(
        from sample: stepflow_metric, now: Date, interner: inout StringInterner
    ) throws(MetricRefusal) -> Metric {
        let name = try metricName(sample.name, interner: &interner)
        let metadata = try helpMetadata(sample.help, metric: name, interner: &interner)
        let labels = try labels(sample.labels, count: sample.label_count, metric: name, interner: &interner)
        let value = try value(of: sample, metric: name)

        let timestamp: Date
        switch sample.timestamp_ms {
        case 0: timestamp = now
        case let ms where ms < 0:
            throw MetricRefusal(reason: .invalidTimestamp, detail: "\(name) has a negative timestamp_ms \(ms)")
        case let ms: timestamp = Date(timeIntervalSince1970: Double(ms) / 1000)
        }
        return Metric(name: name, value: value, labels: labels, timestamp: timestamp, metadata: metadata)
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

    /// A short, printable excerpt of a refused slice for the refusal's detail.
    private static func excerpt(_ slice: stepflow_str) -> String {
        guard let pointer = slice.ptr else { return "" }
        let bytes = UnsafeBufferPointer(
            start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: min(slice.len, 64))
        return String(decoding: bytes, as: UTF8.self) + (slice.len > 64 ? "…" : "")
    }

    private static func bytes(_ slice: stepflow_str) -> UnsafePointer<UInt8>? {
        slice.ptr.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) }
    }

    private static func metricName(_ slice: stepflow_str, interner: inout StringInterner) throws(MetricRefusal) -> String {
        guard slice.len > 0 else { throw MetricRefusal(reason: .emptyName, detail: "a sample has an empty name") }
        guard let base = bytes(slice) else {
            throw MetricRefusal(reason: .nullPointer, detail: "metric name has length \(slice.len) but a NULL pointer")
        }
        guard slice.len <= MetricLimits.maxMetricNameBytes else {
            throw MetricRefusal(
                reason: .nameTooLong,
                detail: "metric name '\(excerpt(slice))' is \(slice.len) bytes, more than \(MetricLimits.maxMetricNameBytes)")
        }
        switch interner.lookup(base, count: slice.len) {
        case .cached(let index):
            guard interner.flags(at: index).contains(.metricName) else {
                throw MetricRefusal(
                    reason: .invalidMetricName,
                    detail: "metric name '\(interner.string(at: index))' does not match [a-zA-Z_:][a-zA-Z0-9_:]*")
            }
            return interner.string(at: index)
        case .uncached(let name):  // unreachable while names are shorter than what is cached; kept correct anyway
            guard MetricNameRules.isValidMetricName(name) else {
                throw MetricRefusal(
                    reason: .invalidMetricName, detail: "metric name '\(name)' does not match [a-zA-Z_:][a-zA-Z0-9_:]*")
            }
            return name
        case .invalidUTF8:
            throw MetricRefusal(reason: .invalidUTF8, detail: "metric name '\(excerpt(slice))' is not valid UTF-8")
        }
    }

    private static func helpMetadata(
        _ slice: stepflow_str, metric: String, interner: inout StringInterner
    ) throws(MetricRefusal) -> [String: JSONValue] {
        guard slice.len > 0 else { return [:] }
        guard let base = bytes(slice) else {
            throw MetricRefusal(
                reason: .nullPointer, detail: "help text of \(metric) has length \(slice.len) but a NULL pointer")
        }
        guard slice.len <= MetricLimits.maxHelpBytes else {
            throw MetricRefusal(
                reason: .helpTooLong,
                detail: "help text of \(metric) is \(slice.len) bytes, more than \(MetricLimits.maxHelpBytes)")
        }
        switch interner.lookup(base, count: slice.len) {
        case .cached(let index): return interner.helpMetadata(at: index)
        case .uncached(let help): return ["help": .string(help)]
        case .invalidUTF8:
            throw MetricRefusal(reason: .invalidUTF8, detail: "help text of \(metric) is not valid UTF-8")
        }
    }

    private static func labels(
        _ pointer: UnsafePointer<stepflow_label>?, count: Int, metric: String, interner: inout StringInterner
    ) throws(MetricRefusal) -> [Label] {
        guard count > 0 else { return [] }
        guard let pointer else {
            throw MetricRefusal(reason: .nullPointer, detail: "\(metric) has label_count \(count) but NULL labels")
        }
        // Before reading any label: a sample with 100,000 labels is refused as cheaply as one with 65.
        guard count <= MetricLimits.maxLabelsPerSample else {
            throw MetricRefusal(
                reason: .tooManyLabels,
                detail: "\(metric) has \(count) labels, more than \(MetricLimits.maxLabelsPerSample)")
        }
        var labels: [Label] = []
        labels.reserveCapacity(count)
        for index in 0..<count {
            let name = try labelName(pointer[index].name, index: index, metric: metric, interner: &interner)
            let value = try labelValue(pointer[index].value, name: name, metric: metric, interner: &interner)
            // Interned names are the same String objects, so this compares pointers in the common case.
            if labels.contains(where: { $0.name == name }) {
                throw MetricRefusal(reason: .duplicateLabelName, detail: "\(metric) has label '\(name)' twice")
            }
            labels.append(Label(name, value))
        }
        return labels
    }

    private static func labelName(
        _ slice: stepflow_str, index: Int, metric: String, interner: inout StringInterner
    ) throws(MetricRefusal) -> String {
        func invalid(_ name: String) -> MetricRefusal {
            MetricRefusal(
                reason: .invalidLabelName,
                detail: "label name '\(name)' of \(metric) does not match [a-zA-Z_][a-zA-Z0-9_]* (or starts with the reserved __)")
        }
        guard slice.len > 0 else { throw invalid("") }
        guard let base = bytes(slice) else {
            throw MetricRefusal(
                reason: .nullPointer,
                detail: "label name #\(index) of \(metric) has length \(slice.len) but a NULL pointer")
        }
        guard slice.len <= MetricLimits.maxLabelNameBytes else {
            throw MetricRefusal(
                reason: .nameTooLong,
                detail: "label name '\(excerpt(slice))' of \(metric) is \(slice.len) bytes, "
                    + "more than \(MetricLimits.maxLabelNameBytes)")
        }
        switch interner.lookup(base, count: slice.len) {
        case .cached(let entry):
            guard interner.flags(at: entry).contains(.labelName) else { throw invalid(interner.string(at: entry)) }
            return interner.string(at: entry)
        case .uncached(let name):  // unreachable while names are shorter than what is cached; kept correct anyway
            guard MetricNameRules.isValidLabelName(name) else { throw invalid(name) }
            return name
        case .invalidUTF8:
            throw MetricRefusal(reason: .invalidUTF8, detail: "label name #\(index) of \(metric) is not valid UTF-8")
        }
    }

    private static func labelValue(
        _ slice: stepflow_str, name: String, metric: String, interner: inout StringInterner
    ) throws(MetricRefusal) -> String {
        guard slice.len > 0 else { return "" }
        guard let base = bytes(slice) else {
            throw MetricRefusal(
                reason: .nullPointer,
                detail: "value of label \(name) of \(metric) has length \(slice.len) but a NULL pointer")
        }
        guard slice.len <= MetricLimits.maxLabelValueBytes else {
            throw MetricRefusal(
                reason: .labelValueTooLong,
                detail: "value of label \(name) of \(metric) is \(slice.len) bytes, "
                    + "more than \(MetricLimits.maxLabelValueBytes)")
        }
        switch interner.lookup(base, count: slice.len) {
        case .cached(let entry): return interner.string(at: entry)
        case .uncached(let value): return value
        case .invalidUTF8:
            throw MetricRefusal(reason: .invalidUTF8, detail: "value of label \(name) of \(metric) is not valid UTF-8")
        }
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
            // Prometheus allows NaN and ±Inf gauges (e.g. a ratio with nothing to divide by).
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
        guard sample.sum.isFinite else {
            throw MetricRefusal(
                reason: .nonFiniteValue, detail: "histogram \(metric) has sum \(sample.sum); it must be finite")
        }
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
                guard bucket.upper_bound != -.infinity else {
                    throw MetricRefusal(reason: .invalidHistogram, detail: "\(metric) has a -Inf bucket bound")
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
        guard sample.sum.isFinite else {
            throw MetricRefusal(
                reason: .nonFiniteValue, detail: "summary \(metric) has sum \(sample.sum); it must be finite")
        }
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
                // NaN fails both comparisons, so a NaN quantile is refused here too.
                guard quantile.quantile >= 0, quantile.quantile <= 1 else {
                    throw MetricRefusal(
                        reason: .invalidSummary, detail: "\(metric) has quantile \(quantile.quantile) outside [0, 1]")
                }
                // A quantile's value may be NaN: Prometheus reports NaN for a summary with no observations yet.
                quantiles.append(Quantile(quantile: quantile.quantile, value: quantile.value))
            }
        }
        return SummaryValue(sum: sample.sum, count: sample.count, quantiles: quantiles)
    }
}
