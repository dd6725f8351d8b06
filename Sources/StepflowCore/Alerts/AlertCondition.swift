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

extension AlertCondition {
    /// The keywords conditions are written with, in YAML and JSON: `{greater_than: 0.9}`.
    public static let keywords = ["greater_than", "less_than", "equal", "not_equal", "contains", "not_contains", "custom"]

    /// The condition's keyword (see ``keywords``).
    public var keyword: String {
        switch self {
        case .greaterThan: return "greater_than"
        case .lessThan: return "less_than"
        case .equal: return "equal"
        case .notEqual: return "not_equal"
        case .contains: return "contains"
        case .notContains: return "not_contains"
        case .custom: return "custom"
        }
    }

    /// The condition's argument: a number, or text.
    public var argument: JSONValue {
        switch self {
        case .greaterThan(let value), .lessThan(let value), .equal(let value), .notEqual(let value):
            return .double(value)
        case .contains(let text), .notContains(let text), .custom(let text):
            return .string(text)
        }
    }

    /// `{keyword: argument}` as stored and sent: `{"greater_than": 0.9}`.
    public var json: JSONValue { .object([keyword: argument]) }

    /// A condition from its keyword and argument.
    ///
    /// - Throws: `invalidAlertCondition` for an unknown keyword or an argument of the wrong type.
    public init(keyword: String, argument: JSONValue) throws(MonitoringError) {
        func number() throws(MonitoringError) -> Double {
            switch argument {
            case .int(let value): return Double(value)
            case .double(let value): return value
            default:
                throw MonitoringError(.invalidAlertCondition, "\(keyword) takes a number, found \(argument.jsonText)")
            }
        }
        func text() throws(MonitoringError) -> String {
            guard case .string(let value) = argument else {
                throw MonitoringError(.invalidAlertCondition, "\(keyword) takes text, found \(argument.jsonText)")
            }
            return value
        }
        switch keyword {
        case "greater_than": self = .greaterThan(try number())
        case "less_than": self = .lessThan(try number())
        case "equal": self = .equal(try number())
        case "not_equal": self = .notEqual(try number())
        case "contains": self = .contains(try text())
        case "not_contains": self = .notContains(try text())
        case "custom": self = .custom(try text())
        default:
            throw MonitoringError(
                .invalidAlertCondition, "unknown condition '\(keyword)'",
                hint: "use one of " + AlertCondition.keywords.joined(separator: ", "))
        }
    }

    /// A condition from its JSON form `{keyword: argument}`.
    public init(json: JSONValue) throws(MonitoringError) {
        guard case .object(let members) = json, members.count == 1, let (keyword, argument) = members.first else {
            throw MonitoringError(
                .invalidAlertCondition, "a condition is one keyword and its argument, such as {\"greater_than\": 0.9}",
                hint: "the keywords are " + AlertCondition.keywords.joined(separator: ", "))
        }
        try self.init(keyword: keyword, argument: argument)
    }
}
