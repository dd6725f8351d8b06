import Foundation
import StepflowCore

/// How a metric sample is written into the spec's JSON columns of `monitoring_metrics`.
///
/// `value_data` holds a JSON number for counters and gauges (non-finite gauges as the strings `"NaN"`,
/// `"+Inf"`, `"-Inf"`, since JSON has no such numbers), `{"sum","count","buckets":[[le,count],…]}` for
/// histograms and `{"sum","count","quantiles":[[q,value],…]}` for summaries. `labels` is a JSON object with
/// sorted keys, or NULL when the series has no labels.
enum MetricValueCoding {
    static func number(_ value: Double) -> String {
        // JSON has no NaN or infinities: those go as strings.
        value.isFinite ? value.prometheusText : "\"" + value.prometheusText + "\""
    }

    static func encode(_ value: MetricValue) -> String {
        switch value {
        case .counter(let count): return number(count)
        case .gauge(let gauge): return number(gauge)
        case .histogram(let histogram):
            let buckets = histogram.buckets.map { "[\(number($0.upperBound)),\($0.count)]" }.joined(separator: ",")
            return "{\"sum\":\(number(histogram.sum)),\"count\":\(histogram.count),\"buckets\":[\(buckets)]}"
        case .summary(let summary):
            let quantiles = summary.quantiles.map { "[\(number($0.quantile)),\(number($0.value))]" }
                .joined(separator: ",")
            return "{\"sum\":\(number(summary.sum)),\"count\":\(summary.count),\"quantiles\":[\(quantiles)]}"
        }
    }

    static func encodeLabels(_ labels: [Label]) -> String? {
        if labels.isEmpty { return nil }
        return "{" + labels.map { JSONValue.quote($0.name) + ":" + JSONValue.quote($0.value) }
            .joined(separator: ",") + "}"
    }

    static func encodeMetadata(_ metadata: [String: JSONValue]) -> String? {
        metadata.isEmpty ? nil : JSONValue.object(metadata).jsonText
    }

    static func decodeNumber(_ any: Any?) -> Double? {
        switch any {
        case let number as NSNumber: return number.doubleValue
        case let text as String:
            switch text {
            case "NaN": return .nan
            case "+Inf": return .infinity
            case "-Inf": return -.infinity
            default: return Double(text)
            }
        default: return nil
        }
    }

    static func decode(type: String, data: String) -> MetricValue? {
        // Counters and gauges are plain JSON numbers almost always: read them without a JSON parser.
        if type == "gauge" || type == "counter", let number = Double(data) {
            return type == "gauge" ? .gauge(number) : .counter(number)
        }
        guard let metricType = MetricType(rawValue: type),
              let json = try? JSONSerialization.jsonObject(with: Data(data.utf8), options: [.fragmentsAllowed])
        else { return nil }
        switch metricType {
        case .counter: return decodeNumber(json).map(MetricValue.counter)
        case .gauge: return decodeNumber(json).map(MetricValue.gauge)
        case .histogram:
            guard let object = json as? [String: Any], let sum = decodeNumber(object["sum"]),
                  let count = (object["count"] as? NSNumber)?.uint64Value,
                  let pairs = object["buckets"] as? [[Any]]
            else { return nil }
            let buckets = pairs.compactMap { pair -> HistogramBucket? in
                guard pair.count == 2, let bound = decodeNumber(pair[0]),
                      let n = (pair[1] as? NSNumber)?.uint64Value else { return nil }
                return HistogramBucket(upperBound: bound, count: n)
            }
            return .histogram(HistogramValue(sum: sum, count: count, buckets: buckets))
        case .summary:
            guard let object = json as? [String: Any], let sum = decodeNumber(object["sum"]),
                  let count = (object["count"] as? NSNumber)?.uint64Value,
                  let pairs = object["quantiles"] as? [[Any]]
            else { return nil }
            let quantiles = pairs.compactMap { pair -> Quantile? in
                guard pair.count == 2, let q = decodeNumber(pair[0]), let v = decodeNumber(pair[1]) else { return nil }
                return Quantile(quantile: q, value: v)
            }
            return .summary(SummaryValue(sum: sum, count: count, quantiles: quantiles))
        }
    }

    static func decodeLabels(_ text: String?) -> [Label] {
        guard let text, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        else { return [] }
        return object.map { Label($0.key, $0.value) }.sorted()
    }

    /// One decoder for every stored JSON column: it has no mutable state once configured, and making one costs
    /// about a third of decoding a small object.
    static let decoder = JSONDecoder()

    static func decodeMetadata(_ text: String?) -> [String: JSONValue] {
        guard let text, let value = try? decoder.decode([String: JSONValue].self, from: Data(text.utf8))
        else { return [:] }
        return value
    }
}
