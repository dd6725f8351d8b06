import Foundation
import StepflowCore
import StepflowStorage

/// The JSON of the metrics API: series, values and stored points out; ingested samples in.
///
/// Numbers that JSON cannot hold travel as the strings `"NaN"`, `"+Inf"` and `"-Inf"`, both ways.
enum MetricJSON {
    // MARK: Out

    static func number(_ value: Double) -> JSONValue {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 9e15 { return .int(Int64(value)) }
        return .double(value)
    }

    static func labels(_ labels: [Label]) -> JSONValue {
        .object(Dictionary(labels.map { ($0.name, JSONValue.string($0.value)) }, uniquingKeysWith: { first, _ in first }))
    }

    static func value(_ value: MetricValue) -> JSONValue {
        switch value {
        case .counter(let scalar), .gauge(let scalar):
            return number(scalar)
        case .histogram(let histogram):
            return .object([
                "sum": number(histogram.sum), "count": .int(Int64(clamping: histogram.count)),
                "buckets": .array(histogram.buckets.map {
                    .object(["le": number($0.upperBound), "count": .int(Int64(clamping: $0.count))])
                }),
            ])
        case .summary(let summary):
            return .object([
                "sum": number(summary.sum), "count": .int(Int64(clamping: summary.count)),
                "quantiles": .array(summary.quantiles.map {
                    .object(["quantile": number($0.quantile), "value": number($0.value)])
                }),
            ])
        }
    }

    static func series(_ info: MetricInfo) -> JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(info.name), "type": .string(info.type.rawValue), "labels": labels(info.labels),
            "value": value(info.value), "last_updated": .string(timestamp(info.lastUpdated)),
        ]
        if let help = info.help { object["help"] = .string(help) }
        return .object(object)
    }

    static func series(_ stored: StoredSeries) -> JSONValue {
        .object([
            "name": .string(stored.name), "type": .string(stored.type.rawValue), "labels": labels(stored.labels),
            "points": .array(stored.points.map(point)),
        ])
    }

    static func point(_ point: StoredPoint) -> JSONValue {
        var object: [String: JSONValue] = [
            "timestamp": .int(point.timestamp), "time": .string(timestamp(Date(unixMilliseconds: point.timestamp))),
            "kind": .string(point.kind.rawValue), "value": value(point.value),
        ]
        if let aggregate = point.aggregate {
            object["interval_ms"] = .int(aggregate.intervalMilliseconds)
            object["samples"] = .int(Int64(aggregate.samples))
            object["min"] = aggregate.min.map(number) ?? .null
            object["max"] = aggregate.max.map(number) ?? .null
            object["sum"] = aggregate.sum.map(number) ?? .null
            object["last"] = aggregate.last.map(number) ?? .null
        }
        return .object(object)
    }

    static func timestamp(_ date: Date) -> String {
        date.rfc3339
    }

    static func error(_ message: String, hint: String? = nil) -> String {
        var object: [String: JSONValue] = ["error": .string(message)]
        if let hint { object["hint"] = .string(hint) }
        return JSONValue.object(object).jsonText
    }

    static func error(_ error: MonitoringError) -> String {
        Self.error(error.message, hint: error.hint)
    }

    // MARK: In

    /// One item of an ingest body that could not be read, by position.
    struct ItemError: Error, Sendable {
        let index: Int
        let name: String?
        let message: String
    }

    /// The keys an ingested sample may have.
    static let itemKeys = ["name", "type", "value", "labels", "timestamp", "help", "sum", "count", "buckets", "quantiles"]

    /// The body `{"metrics": [...]}`: the samples that could be read, with their positions in the body, and an
    /// error for each item that could not.
    static func ingest(_ body: [UInt8], now: Date) throws(MonitoringError) -> (
        metrics: [(index: Int, metric: Metric)], errors: [ItemError]
    ) {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw .invalidQuery("the body is not valid JSON: \(describe(error))", hint: ingestHint)
        }
        guard case .object(let members) = root else {
            throw .invalidQuery("the body must be a JSON object with a \"metrics\" array", hint: ingestHint)
        }
        if let unknown = members.keys.sorted().first(where: { $0 != "metrics" }) {
            throw .invalidQuery("unknown key \"\(unknown)\" in the body; it holds only \"metrics\"", hint: ingestHint)
        }
        guard case .array(let items)? = members["metrics"] else {
            throw .invalidQuery("the body needs a \"metrics\" array", hint: ingestHint)
        }
        var metrics: [(index: Int, metric: Metric)] = []
        var errors: [ItemError] = []
        metrics.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            switch metric(from: item, index: index, now: now) {
            case .success(let metric): metrics.append((index, metric))
            case .failure(let error): errors.append(error)
            }
        }
        return (metrics, errors)
    }

    static let ingestHint =
        "send {\"metrics\": [{\"name\": \"queue_depth\", \"type\": \"gauge\", \"value\": 3, \"labels\": {\"queue\": \"mail\"}}]}; "
        + "docs/http-api.md describes every field"

    private static func metric(from item: JSONValue, index: Int, now: Date) -> Result<Metric, ItemError> {
        guard case .object(let fields) = item else {
            return .failure(ItemError(index: index, name: nil, message: "expected an object, found \(kind(of: item))"))
        }
        let name: String? = { if case .string(let text)? = fields["name"] { return text } else { return nil } }()
        func fail(_ message: String) -> Result<Metric, ItemError> {
            .failure(ItemError(index: index, name: name, message: message))
        }
        if let unknown = fields.keys.sorted().first(where: { !itemKeys.contains($0) }) {
            return fail("unknown key \"\(unknown)\"" + suggestion(for: unknown, among: itemKeys))
        }
        guard let name else { return fail("\"name\" is required and must be a string") }
        guard case .string(let typeText)? = fields["type"] else {
            return fail("\"type\" is required: one of \"counter\", \"gauge\", \"histogram\", \"summary\"")
        }
        guard let type = MetricType(rawValue: typeText) else {
            return fail("\"type\" must be \"counter\", \"gauge\", \"histogram\" or \"summary\", found \"\(typeText)\"")
        }
        var labels: [Label] = []
        switch fields["labels"] {
        case nil, .null?: break
        case .object(let members)?:
            for (key, value) in members.sorted(by: { $0.key < $1.key }) {
                guard case .string(let text) = value else {
                    return fail("label \"\(key)\" must be a string, found \(kind(of: value))")
                }
                labels.append(Label(key, text))
            }
        case let other?:
            return fail("\"labels\" must be an object of strings, found \(kind(of: other))")
        }
        var timestamp = now
        switch RequestParameters.jsonTime(fields["timestamp"], key: "timestamp") {
        case .success(let date): timestamp = date ?? now
        case .failure(let error): return fail(error.message)
        }
        var metadata: [String: JSONValue] = [:]
        switch fields["help"] {
        case nil, .null?: break
        case .string(let text)?: metadata["help"] = .string(text)
        case let other?: return fail("\"help\" must be a string, found \(kind(of: other))")
        }
        let allowed: Set<String>
        let value: MetricValue
        switch type {
        case .counter, .gauge:
            allowed = ["value"]
            guard let field = fields["value"] else { return fail("a \(type) needs a \"value\"") }
            guard let number = number(field) else {
                return fail("\"value\" must be a number (or \"NaN\", \"+Inf\", \"-Inf\"), found \(kind(of: field))")
            }
            value = type == .counter ? .counter(number) : .gauge(number)
        case .histogram, .summary:
            allowed = type == .histogram ? ["sum", "count", "buckets"] : ["sum", "count", "quantiles"]
            guard let sumField = fields["sum"], let sum = number(sumField) else {
                return fail("a \(type) needs \"sum\", a number")
            }
            guard case .int(let rawCount)? = fields["count"], rawCount >= 0 else {
                return fail("a \(type) needs \"count\", an integer >= 0")
            }
            let count = UInt64(rawCount)
            let listKey = type == .histogram ? "buckets" : "quantiles"
            var list: [JSONValue] = []
            switch fields[listKey] {
            case nil, .null?: break
            case .array(let entries)?: list = entries
            case let other?: return fail("\"\(listKey)\" must be an array, found \(kind(of: other))")
            }
            if type == .histogram {
                var buckets: [HistogramBucket] = []
                for (position, entry) in list.enumerated() {
                    guard case .object(let bucket) = entry, let le = bucket["le"].flatMap(number),
                        case .int(let bucketCount)? = bucket["count"], bucketCount >= 0
                    else {
                        return fail("buckets[\(position)] must be {\"le\": <number>, \"count\": <integer >= 0>}")
                    }
                    // The +Inf bucket is implied by count; an explicit one is dropped when it agrees.
                    if le == .infinity {
                        guard UInt64(bucketCount) == count else {
                            return fail("the +Inf bucket counts \(bucketCount), but \"count\" is \(count)")
                        }
                        continue
                    }
                    buckets.append(HistogramBucket(upperBound: le, count: UInt64(bucketCount)))
                }
                value = .histogram(HistogramValue(sum: sum, count: count, buckets: buckets))
            } else {
                var quantiles: [Quantile] = []
                for (position, entry) in list.enumerated() {
                    guard case .object(let quantile) = entry, let phi = quantile["quantile"].flatMap(number),
                        let quantileValue = quantile["value"].flatMap(number)
                    else {
                        return fail("quantiles[\(position)] must be {\"quantile\": <0…1>, \"value\": <number>}")
                    }
                    quantiles.append(Quantile(quantile: phi, value: quantileValue))
                }
                value = .summary(SummaryValue(sum: sum, count: count, quantiles: quantiles))
            }
        }
        let valueKeys: Set<String> = ["value", "sum", "count", "buckets", "quantiles"]
        if let stray = fields.keys.sorted().first(where: { valueKeys.contains($0) && !allowed.contains($0) }) {
            return fail("a \(type) has no \"\(stray)\"")
        }
        return .success(Metric(name: name, value: value, labels: labels, timestamp: timestamp, metadata: metadata))
    }

    /// A JSON number, or one of the strings JSON uses for what it cannot hold.
    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let integer): return Double(integer)
        case .double(let double): return double
        case .string("NaN"): return .nan
        case .string("+Inf"), .string("Inf"): return .infinity
        case .string("-Inf"): return -.infinity
        default: return nil
        }
    }

    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string(let text): return "the string \"\(text.prefix(40))\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// ` (did you mean "x"?)` when a key is a likely typo of one of `keys`, else "".
    static func suggestion(for key: String, among keys: [String]) -> String {
        keys.min { distance($0, key) < distance($1, key) }
            .flatMap { distance($0, key) <= 2 ? " (did you mean \"\($0)\"?)" : nil } ?? ""
    }

    /// What JSONDecoder says about malformed JSON, without its type names.
    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError as NSError?,
                let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String
            {
                return detail
            }
            return context.debugDescription
        }
        return "\(error)"
    }

    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
