import StepflowCore
/// A parsed `AlertRule.query`: what an alert rule measures. Each series of its result becomes one alert instance.
///
/// The language is a small PromQL with log and health terms; ``AlertQuery/parse(_:)`` documents the grammar and
/// docs/alerting.md explains every term with examples.
public indirect enum AlertQuery: Sendable, Hashable, CustomStringConvertible {
    /// A constant, as one series without labels.
    case number(Double)
    /// The current value of every series a selector matches (updated within the lookback window).
    case instant(MetricSelector)
    /// A function of each matching series' stored points over the last `range`.
    case range(RangeFunction, RangeSelector)
    /// Series combined per group of label values.
    case aggregate(Aggregation, by: [String], AlertQuery)
    /// Arithmetic between two number queries (either side may be a constant).
    case binary(BinaryOperator, AlertQuery, AlertQuery)
    /// The number of log entries a selector matches over the last `range`, per group of `by` fields.
    case logCount(LogSelector, range: Duration, by: [String])
    /// The message of the newest log entry a selector matches over the last `range` (text), per group.
    case lastLogMessage(LogSelector, range: Duration, by: [String])
    /// The health state (`healthy`, `degraded`, `unhealthy`, `unknown`) of one component, or of all (text).
    case health(component: String?)

    /// What a query's series hold: numbers, or text (log messages, health states).
    public var valueType: QueryValueType {
        switch self {
        case .lastLogMessage, .health: return .text
        case .number, .instant, .range, .aggregate, .binary, .logCount: return .number
        }
    }

    /// The query in canonical form: what ``parse(_:)`` reads back to the same query.
    public var description: String {
        switch self {
        case .number(let value): return AlertQuery.format(value)
        case .instant(let selector): return selector.description
        case .range(let function, let selector):
            if case .quantileOverTime(let q) = function {
                return "quantile_over_time(\(AlertQuery.format(q)), \(selector))"
            }
            return "\(function.name)(\(selector))"
        case .aggregate(let aggregation, let by, let inner):
            let grouping = by.isEmpty ? "" : " by (\(by.joined(separator: ", ")))"
            return "\(aggregation.rawValue)\(grouping) (\(inner))"
        case .binary(let op, let lhs, let rhs):
            return "(\(lhs) \(op.rawValue) \(rhs))"
        case .logCount(let selector, let range, let by):
            let grouping = by.isEmpty ? "" : " by (\(by.joined(separator: ", ")))"
            return "count_logs\(grouping) (\(selector)[\(AlertQuery.format(range))])"
        case .lastLogMessage(let selector, let range, let by):
            let grouping = by.isEmpty ? "" : " by (\(by.joined(separator: ", ")))"
            return "last_log_message\(grouping) (\(selector)[\(AlertQuery.format(range))])"
        case .health(let component):
            return component.map { "health(\(MetricSelector.quote($0)))" } ?? "health()"
        }
    }

    static func format(_ value: Double) -> String { QueryValue.number(value).description }

    /// A duration as the language writes it: `1h30m`, `5m`, `250ms`.
    static func format(_ duration: Duration) -> String {
        var milliseconds = duration / .milliseconds(1)
        guard milliseconds > 0 else { return "0s" }
        var text = ""
        for (unit, size) in [("d", 86_400_000.0), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            let count = (milliseconds / size).rounded(.down)
            if count >= 1 {
                text += "\(Int64(count))\(unit)"
                milliseconds -= count * size
            }
        }
        return text
    }
}

/// A selector over stored samples with a window: `http_requests_total{code="500"}[5m]`.
public struct RangeSelector: Sendable, Hashable, CustomStringConvertible {
    public var selector: MetricSelector
    public var range: Duration

    public init(_ selector: MetricSelector, range: Duration) {
        self.selector = selector
        self.range = range
    }

    public var description: String { "\(selector)[\(AlertQuery.format(range))]" }
}

/// The functions of a range selector, as Prometheus defines them.
public enum RangeFunction: Sendable, Hashable {
    /// Per-second increase of a counter over the range, resets accounted for.
    case rate
    /// Increase of a counter over the range, resets accounted for.
    case increase
    case avgOverTime, minOverTime, maxOverTime, sumOverTime, countOverTime
    /// The φ-quantile (0 ≤ φ ≤ 1) of the values in the range.
    case quantileOverTime(Double)

    /// The function's name in a query.
    public var name: String {
        switch self {
        case .rate: return "rate"
        case .increase: return "increase"
        case .avgOverTime: return "avg_over_time"
        case .minOverTime: return "min_over_time"
        case .maxOverTime: return "max_over_time"
        case .sumOverTime: return "sum_over_time"
        case .countOverTime: return "count_over_time"
        case .quantileOverTime: return "quantile_over_time"
        }
    }

    /// The functions taking only a range selector, by name.
    static let unary: [String: RangeFunction] = [
        "rate": .rate, "increase": .increase, "avg_over_time": .avgOverTime, "min_over_time": .minOverTime,
        "max_over_time": .maxOverTime, "sum_over_time": .sumOverTime, "count_over_time": .countOverTime,
    ]
}

/// How `sum`, `avg`, `min`, `max` and `count` combine series.
public enum Aggregation: String, Sendable, Hashable, CaseIterable {
    case sum, avg, min, max, count
}

/// Arithmetic between two queries. Series on both sides are matched by their whole label sets (as PromQL's
/// one-to-one matching); a number on one side applies to every series of the other.
public enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"

    /// `lhs op rhs` (IEEE 754: division by zero gives ±Inf or NaN, as in PromQL).
    public func apply(_ lhs: Double, _ rhs: Double) -> Double {
        switch self {
        case .add: return lhs + rhs
        case .subtract: return lhs - rhs
        case .multiply: return lhs * rhs
        case .divide: return lhs / rhs
        }
    }
}
