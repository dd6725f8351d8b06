import StepflowCore

/// Renders series in the Prometheus text exposition format 0.0.4.
///
/// Each family appears once, with `# HELP` and `# TYPE`, families sorted by name and series by labels, so
/// the output is deterministic. Histograms get cumulative `_bucket{le=…}` lines ending in `le="+Inf"`, then
/// `_sum` and `_count`; summaries get `{quantile=…}` lines, then `_sum` and `_count`.
///
/// Written by hand rather than with swift-prometheus: that library renders instruments it owns, whereas here
/// the series come from a store fed by plugins, including pre-computed summary quantiles it cannot express.
public enum PrometheusTextEncoder {
    /// The `Content-Type` of the output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders `series`, which may arrive in any order; series of one name must share one type.
    public static func encode(_ series: [MetricInfo]) -> String {
        let sorted = series.sorted { lhs, rhs in
            lhs.name != rhs.name ? lhs.name < rhs.name : lhs.labels.lexicographicallyPrecedes(rhs.labels)
        }
        var out = ""
        out.reserveCapacity(sorted.count * 64)
        var index = sorted.startIndex
        while index < sorted.endIndex {
            let name = sorted[index].name
            var end = index
            while end < sorted.endIndex && sorted[end].name == name { end += 1 }
            let family = sorted[index..<end]
            let help = family.lazy.compactMap(\.help).first ?? "\(name) (no help text given)"
            out += "# HELP \(name) \(escapeHelp(help))\n"
            out += "# TYPE \(name) \(family.first!.type.rawValue)\n"
            for info in family {
                write(info, to: &out)
            }
            index = end
        }
        return out
    }

    private static func write(_ info: MetricInfo, to out: inout String) {
        switch info.value {
        case .counter(let value), .gauge(let value):
            line(info.name, info.labels, value, to: &out)
        case .histogram(let histogram):
            for bucket in histogram.buckets where bucket.upperBound != .infinity {
                line(info.name + "_bucket", info.labels + [Label("le", format(bucket.upperBound))],
                     Double(bucket.count), to: &out)
            }
            line(info.name + "_bucket", info.labels + [Label("le", "+Inf")], Double(histogram.count), to: &out)
            line(info.name + "_sum", info.labels, histogram.sum, to: &out)
            line(info.name + "_count", info.labels, Double(histogram.count), to: &out)
        case .summary(let summary):
            for quantile in summary.quantiles {
                line(info.name, info.labels + [Label("quantile", format(quantile.quantile))], quantile.value, to: &out)
            }
            line(info.name + "_sum", info.labels, summary.sum, to: &out)
            line(info.name + "_count", info.labels, Double(summary.count), to: &out)
        }
    }

    private static func line(_ name: String, _ labels: [Label], _ value: Double, to out: inout String) {
        out += name
        if !labels.isEmpty {
            out += "{"
            for (position, label) in labels.enumerated() {
                if position > 0 { out += "," }
                out += label.name
                out += "=\""
                out += escapeLabelValue(label.value)
                out += "\""
            }
            out += "}"
        }
        out += " "
        out += format(value)
        out += "\n"
    }

    /// A sample value as Prometheus parses it: `NaN`, `+Inf`, `-Inf`, integers without a fraction.
    public static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Escapes `\`, `"` and newline in a label value.
    public static func escapeLabelValue(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Escapes `\` and newline in HELP text.
    public static func escapeHelp(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\n" }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
