/// One value of a query's result: a number, or text (a log message, a health state).
public enum QueryValue: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case text(String)

    /// The number, or `nil` for text.
    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The text, or `nil` for a number.
    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// As `{{ $value }}` prints it: numbers in their shortest form, `NaN`, `+Inf`, `-Inf`.
    public var description: String {
        switch self {
        case .text(let text): return text
        case .number(let value):
            return value.prometheusText
        }
    }
}

/// One series of a query's result: its labels (sorted by name) and its value at the evaluation time.
public struct QuerySeries: Sendable, Hashable {
    public var labels: [Label]
    public var value: QueryValue

    public init(labels: [Label], value: QueryValue) {
        self.labels = labels.sorted()
        self.value = value
    }

    /// The value of label `name`, or `""` when the series does not carry it (as in Prometheus).
    public func label(_ name: String) -> String {
        labels.first { $0.name == name }?.value ?? ""
    }
}

/// What a query's result series hold.
public enum QueryValueType: String, Sendable, Hashable {
    case number
    case text
}
