/// When a rule's query result makes an alert active: the spec's `AlertCondition`.
public enum AlertCondition: Sendable, Hashable, CustomStringConvertible {
    case greaterThan(Double)
    case lessThan(Double)
    case equal(Double)
    case notEqual(Double)
    /// The series' text (a log message, a health state) contains this.
    case contains(String)
    /// The series' text does not contain this.
    case notContains(String)
    /// A ``ConditionExpression`` over `value` and `labels`.
    case custom(String)

    /// The condition checked against the type of the query it applies to, ready to test series.
    ///
    /// - Throws: `invalidAlertCondition` when the condition does not fit (`contains` on a number query, `>` on a
    ///   text one) or a custom expression does not parse.
    public func compiled(for valueType: QueryValueType) throws(MonitoringError) -> CompiledAlertCondition {
        switch self {
        case .greaterThan, .lessThan, .equal, .notEqual:
            guard valueType == .number else {
                throw MonitoringError(
                    .invalidAlertCondition, "\(self) compares numbers, but the query gives text",
                    hint: "use contains or not_contains, or a custom condition such as value != \"healthy\"")
            }
        case .contains, .notContains:
            guard valueType == .text else {
                throw MonitoringError(
                    .invalidAlertCondition, "\(self) looks for text, but the query gives numbers",
                    hint: "use greater_than, less_than, equal or not_equal")
            }
        case .custom(let text):
            return CompiledAlertCondition(condition: self, expression: try ConditionExpression.parse(text, valueType: valueType))
        }
        return CompiledAlertCondition(condition: self, expression: nil)
    }

    /// As configuration writes it: `greater_than: 0.9`, `contains: "timeout"`, `custom: "value > 1"`.
    public var description: String {
        switch self {
        case .greaterThan(let value): return "greater_than \(QueryValue.number(value))"
        case .lessThan(let value): return "less_than \(QueryValue.number(value))"
        case .equal(let value): return "equal \(QueryValue.number(value))"
        case .notEqual(let value): return "not_equal \(QueryValue.number(value))"
        case .contains(let text): return "contains \(MetricSelector.quote(text))"
        case .notContains(let text): return "not_contains \(MetricSelector.quote(text))"
        case .custom(let text): return "custom \(MetricSelector.quote(text))"
        }
    }
}

/// An ``AlertCondition`` checked against its query's type (see ``AlertCondition/compiled(for:)``).
public struct CompiledAlertCondition: Sendable, Hashable {
    public let condition: AlertCondition
    let expression: ConditionExpression?

    /// Whether `series` makes its alert active. NaN is never greater, less or equal (so only `not_equal` holds).
    public func holds(for series: QuerySeries) -> Bool {
        switch (condition, series.value) {
        case (.greaterThan(let threshold), .number(let value)): return value > threshold
        case (.lessThan(let threshold), .number(let value)): return value < threshold
        case (.equal(let threshold), .number(let value)): return value == threshold
        case (.notEqual(let threshold), .number(let value)): return value != threshold
        case (.contains(let needle), .text(let text)): return text.contains(needle)
        case (.notContains(let needle), .text(let text)): return !text.contains(needle)
        case (.custom, _): return expression?.holds(for: series) ?? false
        default: return false
        }
    }
}
