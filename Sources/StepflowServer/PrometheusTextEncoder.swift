import StepflowCore

/// Renders series in the Prometheus text exposition format 0.0.4.
///
/// Each family appears once, with `# HELP` and `# TYPE`, families sorted by name and series by labels, so
/// the output is deterministic. Histograms get cumulative `_bucket{le=…}` lines ending in `le="+Inf"`, then
/// `_sum` and `_count`; summaries get `{quantile=…}` lines, then `_sum` and `_count`.
///
/// The text is written as UTF-8 bytes into one buffer: a series' name and labels are escaped once and reused for
/// its bucket, quantile, `_sum` and `_count` lines, and input that is already sorted (the engine's snapshot is)
/// is not sorted again.
///
/// Written by hand rather than with swift-prometheus: that library renders instruments it owns, whereas here
/// the series come from a store fed by plugins, including pre-computed summary quantiles it cannot express.
public enum PrometheusTextEncoder {
    /// The `Content-Type` of the output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders `series`, which may arrive in any order; series of one name must share one type.
    public static func encode(_ series: [MetricInfo]) -> String {
        String(decoding: encodeBytes(series), as: UTF8.self)
    }

    /// ``encode(_:)`` as UTF-8 bytes, ready to send.
    public static func encodeBytes(_ series: [MetricInfo]) -> [UInt8] {
        let sorted = isSorted(series) ? series : series.sorted(by: precedes)
        var out: [UInt8] = []
        out.reserveCapacity(sorted.count * 96)
        var index = sorted.startIndex
        while index < sorted.endIndex {
            let name = sorted[index].name
            var end = index + 1
            while end < sorted.endIndex && sorted[end].name == name { end += 1 }
            let help = sorted[index..<end].lazy.compactMap(\.help).first
            append("# HELP ", to: &out)
            append(name, to: &out)
            out.append(0x20)
            if let help { appendEscaped(help, quote: false, to: &out) } else {
                append(name, to: &out)
                append(" (no help text given)", to: &out)
            }
            append("\n# TYPE ", to: &out)
            append(name, to: &out)
            out.append(0x20)
            append(sorted[index].type.rawValue, to: &out)
            out.append(0x0A)
            for info in sorted[index..<end] { write(info, to: &out) }
            index = end
        }
        return out
    }

    /// Merges two lists each sorted by name then labels (the engine's snapshot and the host's own telemetry)
    /// into one sorted list, in linear time. A series in both appears once, as `second` has it (the host's own
    /// series are stored too, and the live value is the newer).
    public static func merge(_ first: [MetricInfo], _ second: [MetricInfo]) -> [MetricInfo] {
        let second = isSorted(second) ? second : second.sorted(by: precedes)
        let first = isSorted(first) ? first : first.sorted(by: precedes)
        var merged: [MetricInfo] = []
        merged.reserveCapacity(first.count + second.count)
        var i = 0
        var j = 0
        while i < first.count && j < second.count {
            if precedes(second[j], first[i]) {
                merged.append(second[j])
                j += 1
            } else if !precedes(first[i], second[j]) {
                // The same series in both: the second (the live value) wins.
                merged.append(second[j])
                i += 1
                j += 1
            } else {
                merged.append(first[i])
                i += 1
            }
        }
        merged.append(contentsOf: first[i...])
        merged.append(contentsOf: second[j...])
        return merged
    }

    static func precedes(_ lhs: MetricInfo, _ rhs: MetricInfo) -> Bool {
        lhs.name != rhs.name ? lhs.name < rhs.name : lhs.labels.lexicographicallyPrecedes(rhs.labels)
    }

    private static func isSorted(_ series: [MetricInfo]) -> Bool {
        var index = 1
        while index < series.count {
            if precedes(series[index], series[index - 1]) { return false }
            index += 1
        }
        return true
    }

    private static func write(_ info: MetricInfo, to out: inout [UInt8]) {
        // `name{a="x",b="y"` without the closing brace: the extra label of a bucket or quantile line goes after it.
        var labels: [UInt8] = []
        for (position, label) in info.labels.enumerated() {
            if position > 0 { labels.append(0x2C) }
            append(label.name, to: &labels)
            append("=\"", to: &labels)
            appendEscaped(label.value, quote: true, to: &labels)
            labels.append(0x22)
        }
        switch info.value {
        case .counter(let value), .gauge(let value):
            line(info.name, suffix: "", labels, extra: nil, value, to: &out)
        case .histogram(let histogram):
            for bucket in histogram.buckets where bucket.upperBound != .infinity {
                line(info.name, suffix: "_bucket", labels, extra: ("le", format(bucket.upperBound)), Double(bucket.count), to: &out)
            }
            line(info.name, suffix: "_bucket", labels, extra: ("le", "+Inf"), Double(histogram.count), to: &out)
            line(info.name, suffix: "_sum", labels, extra: nil, histogram.sum, to: &out)
            line(info.name, suffix: "_count", labels, extra: nil, Double(histogram.count), to: &out)
        case .summary(let summary):
            for quantile in summary.quantiles {
                line(info.name, suffix: "", labels, extra: ("quantile", format(quantile.quantile)), quantile.value, to: &out)
            }
            line(info.name, suffix: "_sum", labels, extra: nil, summary.sum, to: &out)
            line(info.name, suffix: "_count", labels, extra: nil, Double(summary.count), to: &out)
        }
    }

    private static func line(
        _ name: String, suffix: StaticString, _ labels: [UInt8], extra: (name: StaticString, value: String)?,
        _ value: Double, to out: inout [UInt8]
    ) {
        append(name, to: &out)
        append(suffix, to: &out)
        if !labels.isEmpty || extra != nil {
            out.append(0x7B)
            out.append(contentsOf: labels)
            if let extra {
                if !labels.isEmpty { out.append(0x2C) }
                append(extra.name, to: &out)
                append("=\"", to: &out)
                append(extra.value, to: &out)
                out.append(0x22)
            }
            out.append(0x7D)
        }
        out.append(0x20)
        appendNumber(value, to: &out)
        out.append(0x0A)
    }

    /// A sample value as Prometheus parses it: `NaN`, `+Inf`, `-Inf`, integers without a fraction.
    public static func format(_ value: Double) -> String { value.prometheusText }

    /// ``format(_:)`` written straight into the buffer; integers (most counters and gauges) without a `String`.
    private static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        guard value == value.rounded(), abs(value) < 1e15 else {
            append(format(value), to: &out)
            return
        }
        var integer = Int64(value)
        if integer == 0 {
            out.append(0x30)
            return
        }
        if integer < 0 {
            out.append(0x2D)
            integer = -integer
        }
        var digits: (UInt64, UInt64) = (0, 0)  // room for the 16 digits of anything below 1e15, filled from the end
        withUnsafeMutableBytes(of: &digits) { buffer in
            var position = buffer.count
            while integer > 0 {
                position -= 1
                buffer[position] = UInt8(truncatingIfNeeded: integer % 10) + 0x30
                integer /= 10
            }
            out.append(contentsOf: buffer[position...])
        }
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    private static func append(_ text: StaticString, to out: inout [UInt8]) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Appends `text` escaping `\` and newline, and `"` in label values (`quote`).
    private static func appendEscaped(_ text: String, quote: Bool, to out: inout [UInt8]) {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || (quote && $0 == 0x22) }) else {
            out.append(contentsOf: utf8)
            return
        }
        for byte in utf8 {
            switch byte {
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x22 where quote: out.append(0x5C); out.append(0x22)
            default: out.append(byte)
            }
        }
    }

    /// Escapes `\`, `"` and newline in a label value.
    public static func escapeLabelValue(_ value: String) -> String {
        var out: [UInt8] = []
        appendEscaped(value, quote: true, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Escapes `\` and newline in HELP text.
    public static func escapeHelp(_ value: String) -> String {
        var out: [UInt8] = []
        appendEscaped(value, quote: false, to: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
