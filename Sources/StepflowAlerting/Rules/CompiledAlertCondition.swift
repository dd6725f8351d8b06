import StepflowCore

extension AlertCondition {
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
