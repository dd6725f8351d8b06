import CStepflowPlugin
import Foundation
import StepflowCore

/// Why one `stepflow_metric` could not be converted: the reason plus a human-readable detail.
struct MetricRefusal: Error {
    let reason: MetricRefusalReason
    let detail: String
}

/// Copies C samples into a ``MetricBatch``, validating them. Runs during `emit_metrics`, while the plugin's
/// borrowed pointers are valid; nothing borrowed outlives a call.
///
/// The hot path works on the raw bytes: lengths are checked against ``MetricLimits`` before anything is read,
/// names, label values and HELP texts go through the instance's ``StringInterner`` (so a repeated one is
/// neither validated nor allocated again, and is stored once per batch), and the detail of a refusal is only
/// formatted when there is one. A sample costs no allocation: it is one fixed-size record plus its labels in
/// the batch's flat arrays.
enum MetricConversion {
    /// Appends one sample to `batch`; `now` (Unix milliseconds) is used when `timestamp_ms` is 0. A refused
    /// sample leaves nothing behind but, possibly, strings in the batch's table.
    static func append(
        _ sample: stepflow_metric, to batch: inout MetricBatch, now: Int64, interner: inout StringInterner
    ) throws(MetricRefusal) {
        let marks = batch.marks
        do throws(MetricRefusal) {
            // The name is passed on as its index: its text is only needed to explain a refusal.
            let name = try metricName(sample.name, batch: &batch, interner: &interner)
            let help = try helpText(sample.help, metric: name, batch: &batch, interner: &interner)
            try labels(sample.labels, count: sample.label_count, metric: name, batch: &batch, interner: &interner)
            let (type, value, count) = try value(of: sample, metric: name, batch: &batch)
            let timestamp: Int64
            switch sample.timestamp_ms {
            case 0: timestamp = now
            case let ms where !ValidTime.contains(milliseconds: ms):
                throw MetricRefusal(
                    reason: .invalidTimestamp,
                    detail: "\(batch.strings[Int(name)]) has timestamp_ms \(ms), outside \(ValidTime.rangeText)")
            case let ms: timestamp = ms
            }
            batch.appendSample(
                name: name, help: help, type: type, value: value, count: count, timestamp: timestamp,
                labelStart: marks.labels, partStart: marks.parts)
        } catch {
            batch.rollBack(to: marks)
            throw error
        }
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

    private static func metricName(
        _ slice: stepflow_str, batch: inout MetricBatch, interner: inout StringInterner
    ) throws(MetricRefusal) -> UInt32 {
        guard slice.len > 0 else { throw MetricRefusal(reason: .emptyName, detail: "a sample has an empty name") }
        guard let base = bytes(slice) else {
            throw MetricRefusal(reason: .nullPointer, detail: "metric name has length \(slice.len) but a NULL pointer")
        }
        guard slice.len <= MetricLimits.maxMetricNameBytes else {
            throw MetricRefusal(
                reason: .nameTooLong,
                detail: "metric name '\(excerpt(slice))' is \(slice.len) bytes, more than \(MetricLimits.maxMetricNameBytes)")
        }
        guard let name = interner.resolve(base, count: slice.len, in: &batch) else {
            throw MetricRefusal(reason: .invalidUTF8, detail: "metric name '\(excerpt(slice))' is not valid UTF-8")
        }
        guard name.flags.contains(.metricName) else {
            throw MetricRefusal(
                reason: .invalidMetricName,
                detail: "metric name '\(batch.strings[Int(name.index)])' does not match [a-zA-Z_:][a-zA-Z0-9_:]*")
        }
        return name.index
    }

    private static func helpText(
        _ slice: stepflow_str, metric nameIndex: UInt32, batch: inout MetricBatch, interner: inout StringInterner
    ) throws(MetricRefusal) -> UInt32 {
        guard slice.len > 0 else { return MetricBatch.noString }
        guard let base = bytes(slice) else {
            throw MetricRefusal(
                reason: .nullPointer, detail: "help text of \(batch.strings[Int(nameIndex)]) has length \(slice.len) but a NULL pointer")
        }
        guard slice.len <= MetricLimits.maxHelpBytes else {
            throw MetricRefusal(
                reason: .helpTooLong,
                detail: "help text of \(batch.strings[Int(nameIndex)]) is \(slice.len) bytes, more than \(MetricLimits.maxHelpBytes)")
        }
        guard let help = interner.resolve(base, count: slice.len, in: &batch) else {
            throw MetricRefusal(reason: .invalidUTF8, detail: "help text of \(batch.strings[Int(nameIndex)]) is not valid UTF-8")
        }
        return help.index
    }

    private static func labels(
        _ pointer: UnsafePointer<stepflow_label>?, count: Int, metric nameIndex: UInt32, batch: inout MetricBatch,
        interner: inout StringInterner
    ) throws(MetricRefusal) {
        guard count > 0 else { return }
        guard let pointer else {
            throw MetricRefusal(reason: .nullPointer, detail: "\(batch.strings[Int(nameIndex)]) has label_count \(count) but NULL labels")
        }
        // Before reading any label: a sample with 100,000 labels is refused as cheaply as one with 65.
        guard count <= MetricLimits.maxLabelsPerSample else {
            throw MetricRefusal(
                reason: .tooManyLabels,
                detail: "\(batch.strings[Int(nameIndex)]) has \(count) labels, more than \(MetricLimits.maxLabelsPerSample)")
        }
        let start = batch.marks.labels
        let ordinal = batch.count * 8
        for index in 0..<count {
            let name = try labelName(pointer[index].name, index: index, metric: nameIndex, batch: &batch, interner: &interner)
            let value = try labelValue(
                pointer[index].value, label: name, metric: nameIndex, position: index < 8 ? ordinal + index : nil,
                batch: &batch, interner: &interner)
            // Equal strings share one batch index, so comparing indices finds a repeated label name.
            if batch.hasLabel(named: name, from: start) {
                throw MetricRefusal(
                    reason: .duplicateLabelName, detail: "\(batch.strings[Int(nameIndex)]) has label '\(batch.strings[Int(name)])' twice")
            }
            batch.appendLabel(name: name, value: value)
        }
    }

    private static func labelName(
        _ slice: stepflow_str, index: Int, metric nameIndex: UInt32, batch: inout MetricBatch, interner: inout StringInterner
    ) throws(MetricRefusal) -> UInt32 {
        func invalid(_ name: String) -> MetricRefusal {
            MetricRefusal(
                reason: .invalidLabelName,
                detail: "label name '\(name)' of \(batch.strings[Int(nameIndex)]) does not match [a-zA-Z_][a-zA-Z0-9_]* (or starts with the reserved __)")
        }
        guard slice.len > 0 else { throw invalid("") }
        guard let base = bytes(slice) else {
            throw MetricRefusal(
                reason: .nullPointer,
                detail: "label name #\(index) of \(batch.strings[Int(nameIndex)]) has length \(slice.len) but a NULL pointer")
        }
        guard slice.len <= MetricLimits.maxLabelNameBytes else {
            throw MetricRefusal(
                reason: .nameTooLong,
                detail: "label name '\(excerpt(slice))' of \(batch.strings[Int(nameIndex)]) is \(slice.len) bytes, "
                    + "more than \(MetricLimits.maxLabelNameBytes)")
        }
        guard let name = interner.resolve(base, count: slice.len, in: &batch) else {
            throw MetricRefusal(reason: .invalidUTF8, detail: "label name #\(index) of \(batch.strings[Int(nameIndex)]) is not valid UTF-8")
        }
        guard name.flags.contains(.labelName) else { throw invalid(batch.strings[Int(name.index)]) }
        return name.index
    }

    private static func labelValue(
        _ slice: stepflow_str, label: UInt32, metric nameIndex: UInt32, position: Int?, batch: inout MetricBatch,
        interner: inout StringInterner
    ) throws(MetricRefusal) -> UInt32 {
        if slice.len == 0 {
            return batch.addEmptyString()
        }
        guard let base = bytes(slice) else {
            throw MetricRefusal(
                reason: .nullPointer,
                detail: "value of label \(batch.strings[Int(label)]) of \(batch.strings[Int(nameIndex)]) has length \(slice.len) but a NULL pointer")
        }
        guard slice.len <= MetricLimits.maxLabelValueBytes else {
            throw MetricRefusal(
                reason: .labelValueTooLong,
                detail: "value of label \(batch.strings[Int(label)]) of \(batch.strings[Int(nameIndex)]) is \(slice.len) bytes, "
                    + "more than \(MetricLimits.maxLabelValueBytes)")
        }
        guard let value = interner.resolve(base, count: slice.len, in: &batch, position: position) else {
            throw MetricRefusal(
                reason: .invalidUTF8, detail: "value of label \(batch.strings[Int(label)]) of \(batch.strings[Int(nameIndex)]) is not valid UTF-8")
        }
        return value.index
    }

    /// The sample's type, value (or sum) and count; buckets and quantiles go to the batch's parts.
    private static func value(
        of sample: stepflow_metric, metric nameIndex: UInt32, batch: inout MetricBatch
    ) throws(MetricRefusal) -> (MetricType, Double, UInt64) {
        switch UInt32(bitPattern: sample.type) {
        case STEPFLOW_METRIC_COUNTER.rawValue:
            let value = sample.value
            guard value.isFinite, value >= 0 else {
                throw MetricRefusal(
                    reason: .invalidCounterValue,
                    detail: "counter \(batch.strings[Int(nameIndex)]) has value \(value); a counter must be a finite number >= 0")
            }
            return (.counter, value, 0)
        case STEPFLOW_METRIC_GAUGE.rawValue:
            // Prometheus allows NaN and ±Inf gauges (e.g. a ratio with nothing to divide by).
            return (.gauge, sample.value, 0)
        case STEPFLOW_METRIC_HISTOGRAM.rawValue:
            try histogram(of: sample, metric: nameIndex, batch: &batch)
            return (.histogram, sample.sum, sample.count)
        case STEPFLOW_METRIC_SUMMARY.rawValue:
            try summary(of: sample, metric: nameIndex, batch: &batch)
            return (.summary, sample.sum, sample.count)
        default:
            throw MetricRefusal(reason: .unknownType, detail: "\(batch.strings[Int(nameIndex)]) has unknown type \(sample.type)")
        }
    }

    private static func histogram(
        of sample: stepflow_metric, metric nameIndex: UInt32, batch: inout MetricBatch
    ) throws(MetricRefusal) {
        guard sample.sum.isFinite else {
            throw MetricRefusal(
                reason: .nonFiniteValue, detail: "histogram \(batch.strings[Int(nameIndex)]) has sum \(sample.sum); it must be finite")
        }
        guard sample.bucket_count > 0 else { return }
        guard let pointer = sample.buckets else {
            throw MetricRefusal(
                reason: .nullPointer, detail: "\(batch.strings[Int(nameIndex)]) has bucket_count \(sample.bucket_count) but NULL buckets")
        }
        var previous: (bound: Double, count: UInt64)?
        for index in 0..<sample.bucket_count {
            let bucket = pointer[index]
            guard !bucket.upper_bound.isNaN else {
                throw MetricRefusal(reason: .invalidHistogram, detail: "\(batch.strings[Int(nameIndex)]) has a NaN bucket bound")
            }
            guard bucket.upper_bound != -.infinity else {
                throw MetricRefusal(reason: .invalidHistogram, detail: "\(batch.strings[Int(nameIndex)]) has a -Inf bucket bound")
            }
            if let previous {
                guard bucket.upper_bound > previous.bound else {
                    throw MetricRefusal(
                        reason: .invalidHistogram,
                        detail: "\(batch.strings[Int(nameIndex)]) bucket bounds are not strictly ascending "
                            + "(\(previous.bound) then \(bucket.upper_bound))")
                }
                guard bucket.count >= previous.count else {
                    throw MetricRefusal(reason: .invalidHistogram, detail: "\(batch.strings[Int(nameIndex)]) bucket counts are not cumulative")
                }
            }
            guard bucket.count <= sample.count else {
                throw MetricRefusal(
                    reason: .invalidHistogram,
                    detail: "\(batch.strings[Int(nameIndex)]) bucket le=\(bucket.upper_bound) counts \(bucket.count), more than count \(sample.count)")
            }
            // The +Inf bucket is implied by `count`; an explicit one (always the last) is dropped when it agrees.
            if bucket.upper_bound == .infinity {
                guard bucket.count == sample.count else {
                    throw MetricRefusal(reason: .invalidHistogram, detail: "\(batch.strings[Int(nameIndex)]) +Inf bucket count differs from count")
                }
            } else {
                batch.appendPart(key: bucket.upper_bound, bits: bucket.count)
            }
            previous = (bucket.upper_bound, bucket.count)
        }
    }

    private static func summary(
        of sample: stepflow_metric, metric nameIndex: UInt32, batch: inout MetricBatch
    ) throws(MetricRefusal) {
        guard sample.sum.isFinite else {
            throw MetricRefusal(
                reason: .nonFiniteValue, detail: "summary \(batch.strings[Int(nameIndex)]) has sum \(sample.sum); it must be finite")
        }
        guard sample.quantile_count > 0 else { return }
        guard let pointer = sample.quantiles else {
            throw MetricRefusal(
                reason: .nullPointer,
                detail: "\(batch.strings[Int(nameIndex)]) has quantile_count \(sample.quantile_count) but NULL quantiles")
        }
        for index in 0..<sample.quantile_count {
            let quantile = pointer[index]
            // NaN fails both comparisons, so a NaN quantile is refused here too.
            guard quantile.quantile >= 0, quantile.quantile <= 1 else {
                throw MetricRefusal(
                    reason: .invalidSummary, detail: "\(batch.strings[Int(nameIndex)]) has quantile \(quantile.quantile) outside [0, 1]")
            }
            // A quantile's value may be NaN: Prometheus reports NaN for a summary with no observations yet.
            batch.appendPart(key: quantile.quantile, bits: quantile.value.bitPattern)
        }
    }
}
