import StepflowCore
/// The boolean expression of an `AlertCondition.custom`: when it is true for a result series, that series' alert
/// is active. It reads the series' `value` and its labels.
///
/// Grammar (whitespace allowed between tokens):
///
///     expr       := and { ("||" | "or") and }
///     and        := not { ("&&" | "and") not }
///     not        := ("!" | "not") not | comparison
///     comparison := sum [ ("==" | "!=" | ">" | ">=" | "<" | "<=") sum | ("=~" | "!~") string ]
///     sum        := product { ("+" | "-") product }
///     product    := unary { ("*" | "/") unary }
///     unary      := "-" unary | primary
///     primary    := number | string | "true" | "false" | "value" | "$value"
///                 | "labels." name | "$labels." name | "(" expr ")"
///
/// Examples: `value > 0.9 && labels.env == "prod"`, `value >= 3 or labels.severity =~ "crit.*"`,
/// `value != "healthy"` (for a text query). Types are checked when the expression is parsed: comparing a number
/// with text, or using `value` as a number when the query gives text, is an error there, not at evaluation.
/// A missing label is `""`, as in Prometheus; `=~` is anchored.
public indirect enum ConditionExpression: Sendable, Hashable, CustomStringConvertible {
    case number(Double)
    case text(String)
    case boolean(Bool)
    /// The series' value.
    case value
    /// A label of the series.
    case label(String)
    case not(ConditionExpression)
    case and(ConditionExpression, ConditionExpression)
    case or(ConditionExpression, ConditionExpression)
    case compare(Comparison, ConditionExpression, ConditionExpression)
    case matches(ConditionExpression, AnchoredRegex, negated: Bool)
    case arithmetic(BinaryOperator, ConditionExpression, ConditionExpression)

    /// How two values compare.
    public enum Comparison: String, Sendable, Hashable {
        case equal = "==", notEqual = "!=", greater = ">", greaterOrEqual = ">=", less = "<", lessOrEqual = "<="

        /// `a` compared with `b` (for doubles, NaN compares false except with `!=`, as IEEE 754 has it).
        func holds<T: Comparable>(_ a: T, _ b: T) -> Bool {
            switch self {
            case .equal: a == b
            case .notEqual: a != b
            case .greater: a > b
            case .greaterOrEqual: a >= b
            case .less: a < b
            case .lessOrEqual: a <= b
            }
        }
    }

    /// The type of an expression's result.
    enum Kind: String {
        case number, text, boolean
    }

    /// Parses `text` for a query whose series hold `valueType`.
    ///
    /// - Throws: `MonitoringError` `invalidAlertCondition` with the column and what was expected.
    public static func parse(_ text: String, valueType: QueryValueType) throws(MonitoringError) -> ConditionExpression {
        var parser = ConditionParser(text, valueType: valueType)
        let (expression, kind) = try parser.or()
        parser.scanner.skipSpace()
        guard parser.scanner.atEnd else {
            throw parser.error("expected an operator or the end of the condition, found \(parser.scanner.peekDescription)")
        }
        guard kind == .boolean else {
            throw parser.error("the condition must be true or false, but it gives a \(kind.rawValue); compare it, e.g. value > 1", at: 0)
        }
        return expression
    }

    /// Whether the expression holds for a series.
    public func holds(for series: QuerySeries) -> Bool {
        if case .boolean(let result) = evaluate(series) { return result }
        return false
    }

    private enum Result {
        case number(Double), text(String), boolean(Bool)
    }

    private func evaluate(_ series: QuerySeries) -> Result {
        switch self {
        case .number(let value): return .number(value)
        case .text(let value): return .text(value)
        case .boolean(let value): return .boolean(value)
        case .value:
            switch series.value {
            case .number(let value): return .number(value)
            case .text(let value): return .text(value)
            }
        case .label(let name): return .text(series.label(name))
        case .not(let inner):
            if case .boolean(let value) = inner.evaluate(series) { return .boolean(!value) }
            return .boolean(false)
        case .and(let lhs, let rhs): return .boolean(lhs.holds(for: series) && rhs.holds(for: series))
        case .or(let lhs, let rhs): return .boolean(lhs.holds(for: series) || rhs.holds(for: series))
        case .arithmetic(let op, let lhs, let rhs):
            guard case .number(let a) = lhs.evaluate(series), case .number(let b) = rhs.evaluate(series) else {
                return .number(.nan)
            }
            return .number(op.apply(a, b))
        case .matches(let inner, let regex, let negated):
            guard case .text(let text) = inner.evaluate(series) else { return .boolean(false) }
            return .boolean(regex.matches(text) != negated)
        case .compare(let comparison, let lhs, let rhs):
            switch (lhs.evaluate(series), rhs.evaluate(series)) {
            case (.number(let a), .number(let b)):
                // NaN compares false, except `!=`, as IEEE 754 (and PromQL) have it.
                return .boolean(comparison.holds(a, b))
            case (.text(let a), .text(let b)):
                return .boolean(comparison.holds(a, b))
            case (.boolean(let a), .boolean(let b)):
                return .boolean(comparison == .equal ? a == b : comparison == .notEqual ? a != b : false)
            default:
                return .boolean(false)
            }
        }
    }

    public var description: String {
        switch self {
        case .number(let value): return QueryValue.number(value).description
        case .text(let value): return MetricSelector.quote(value)
        case .boolean(let value): return value ? "true" : "false"
        case .value: return "value"
        case .label(let name): return "labels.\(name)"
        case .not(let inner): return "!(\(inner))"
        case .and(let lhs, let rhs): return "(\(lhs) && \(rhs))"
        case .or(let lhs, let rhs): return "(\(lhs) || \(rhs))"
        case .compare(let op, let lhs, let rhs): return "(\(lhs) \(op.rawValue) \(rhs))"
        case .matches(let inner, let regex, let negated):
            return "(\(inner) \(negated ? "!~" : "=~") \(MetricSelector.quote(regex.pattern)))"
        case .arithmetic(let op, let lhs, let rhs): return "(\(lhs) \(op.rawValue) \(rhs))"
        }
    }
}

/// The recursive-descent parser behind ``ConditionExpression/parse(_:valueType:)``, type-checking as it goes.
struct ConditionParser {
    typealias Typed = (ConditionExpression, ConditionExpression.Kind)
    var scanner: SelectorScanner
    let valueType: QueryValueType
    /// How deeply the expression being parsed is nested; every nesting passes through ``not()`` or ``unary()``.
    private var depth = 0

    init(_ text: String, valueType: QueryValueType) {
        scanner = SelectorScanner(text)
        self.valueType = valueType
    }

    func error(_ message: String, at offset: Int? = nil) -> MonitoringError {
        let located = scanner.error(message, at: offset)
        return MonitoringError(
            .invalidAlertCondition, located.message,
            hint: "see the condition grammar in docs/alerting.md, e.g. value > 0.9 && labels.env == \"prod\"")
    }

    /// Consumes a word operator (`and`, `or`, `not`) only when it is a whole word.
    mutating func consumeWord(_ word: String) -> Bool {
        let saved = scanner.position
        if scanner.identifier(colon: false) == word { return true }
        scanner.position = saved
        return false
    }

    mutating func or() throws(MonitoringError) -> Typed {
        var lhs = try and()
        while true {
            let start = scanner.position
            guard scanner.consume("||") || consumeWord("or") else { return lhs }
            let rhs = try and()
            try requireBooleans(lhs, rhs, "or", at: start)
            lhs = (.or(lhs.0, rhs.0), .boolean)
        }
    }

    mutating func and() throws(MonitoringError) -> Typed {
        var lhs = try not()
        while true {
            let start = scanner.position
            guard scanner.consume("&&") || consumeWord("and") else { return lhs }
            let rhs = try not()
            try requireBooleans(lhs, rhs, "and", at: start)
            lhs = (.and(lhs.0, rhs.0), .boolean)
        }
    }

    func requireBooleans(_ lhs: Typed, _ rhs: Typed, _ op: String, at position: Int) throws(MonitoringError) {
        guard lhs.1 == .boolean, rhs.1 == .boolean else {
            throw error("'\(op)' joins conditions (true or false), found a \(lhs.1 == .boolean ? rhs.1.rawValue : lhs.1.rawValue)", at: position)
        }
    }

    /// Counts one level of nesting, refusing more than ``AlertQueryParser/maxDepth``.
    mutating func nest(at start: Int) throws(MonitoringError) {
        depth += 1
        guard depth <= AlertQueryParser.maxDepth else {
            throw error("the expression nests deeper than \(AlertQueryParser.maxDepth) levels", at: start)
        }
    }

    mutating func not() throws(MonitoringError) -> Typed {
        scanner.skipSpace()
        let start = scanner.position
        try nest(at: start)
        defer { depth -= 1 }
        let bang = scanner.peek == 0x21 && (scanner.position + 1 >= scanner.bytes.count
            || (scanner.bytes[scanner.position + 1] != 0x3D && scanner.bytes[scanner.position + 1] != 0x7E))
        if bang {
            scanner.position += 1
        } else if !consumeWord("not") {
            return try comparison()
        }
        let inner = try not()
        guard inner.1 == .boolean else { throw error("'not' needs a condition after it, found a \(inner.1.rawValue)", at: start) }
        return (.not(inner.0), .boolean)
    }

    mutating func comparison() throws(MonitoringError) -> Typed {
        let lhs = try sum()
        scanner.skipSpace()
        let start = scanner.position
        for (symbol, negated) in [("=~", false), ("!~", true)] where scanner.consume(symbol) {
            guard lhs.1 == .text else { throw error("'\(symbol)' matches text against a regex, found a \(lhs.1.rawValue)", at: start) }
            let pattern = try scanner.quotedString()
            let regex: AnchoredRegex
            do throws(MonitoringError) {
                regex = try AnchoredRegex(pattern, what: "the regex after \(symbol)")
            } catch {
                throw self.error(error.message, at: start)
            }
            return (.matches(lhs.0, regex, negated: negated), .boolean)
        }
        let symbols: [(String, ConditionExpression.Comparison)] = [
            ("==", .equal), ("!=", .notEqual), (">=", .greaterOrEqual), ("<=", .lessOrEqual), (">", .greater),
            ("<", .less),
        ]
        for (symbol, comparison) in symbols where scanner.consume(symbol) {
            let rhs = try sum()
            guard lhs.1 == rhs.1 else {
                throw error("'\(symbol)' compares a \(lhs.1.rawValue) with a \(rhs.1.rawValue); compare like with like", at: start)
            }
            if lhs.1 == .boolean, comparison != .equal, comparison != .notEqual {
                throw error("'\(symbol)' does not order true and false; use == or !=", at: start)
            }
            return (.compare(comparison, lhs.0, rhs.0), .boolean)
        }
        if scanner.consume("=") {
            throw error("'=' is not a comparison here; write ==", at: start)
        }
        return lhs
    }

    mutating func sum() throws(MonitoringError) -> Typed {
        var lhs = try product()
        while true {
            scanner.skipSpace()
            let start = scanner.position
            let op: BinaryOperator
            if scanner.consume("+") { op = .add } else if scanner.consume("-") { op = .subtract } else { return lhs }
            let rhs = try product()
            lhs = try arithmetic(op, lhs, rhs, at: start)
        }
    }

    mutating func product() throws(MonitoringError) -> Typed {
        var lhs = try unary()
        while true {
            scanner.skipSpace()
            let start = scanner.position
            let op: BinaryOperator
            if scanner.consume("*") { op = .multiply } else if scanner.consume("/") { op = .divide } else { return lhs }
            let rhs = try unary()
            lhs = try arithmetic(op, lhs, rhs, at: start)
        }
    }

    func arithmetic(_ op: BinaryOperator, _ lhs: Typed, _ rhs: Typed, at position: Int) throws(MonitoringError) -> Typed {
        guard lhs.1 == .number, rhs.1 == .number else {
            throw error("'\(op.rawValue)' needs numbers on both sides, found a \(lhs.1 == .number ? rhs.1.rawValue : lhs.1.rawValue)", at: position)
        }
        return (.arithmetic(op, lhs.0, rhs.0), .number)
    }

    mutating func unary() throws(MonitoringError) -> Typed {
        scanner.skipSpace()
        let start = scanner.position
        try nest(at: start)
        defer { depth -= 1 }
        if scanner.consume("-") {
            let inner = try unary()
            guard inner.1 == .number else { throw error("'-' needs a number after it", at: start) }
            return (.arithmetic(.multiply, .number(-1), inner.0), .number)
        }
        return try primary()
    }

    mutating func primary() throws(MonitoringError) -> Typed {
        scanner.skipSpace()
        let start = scanner.position
        if scanner.consume("(") {
            let inner = try or()
            guard scanner.consume(")") else { throw error("expected ')', found \(scanner.peekDescription)") }
            return inner
        }
        if let quote = scanner.peek, quote == 0x22 || quote == 0x27 || quote == 0x60 {
            do throws(MonitoringError) {
                return (.text(try scanner.quotedString()), .text)
            } catch {
                throw self.error(error.message)
            }
        }
        var parser = AlertQueryParser("")
        parser.scanner = scanner
        if let number = parser.number() {
            scanner = parser.scanner
            return (.number(number), .number)
        }
        let dollar = scanner.consume("$")
        guard let word = scanner.identifier(colon: false) else {
            throw error("expected value, labels.<name>, a number, a string or '(', found \(scanner.peekDescription)")
        }
        switch word {
        case "value":
            return (.value, valueType == .number ? .number : .text)
        case "labels":
            guard scanner.peek == 0x2E else { throw error("expected '.' and a label name after labels, as in labels.env") }
            scanner.position += 1
            guard let name = scanner.identifier(colon: false) else {
                throw error("expected a label name after 'labels.', found \(scanner.peekDescription)")
            }
            return (.label(name), .text)
        case "true" where !dollar: return (.boolean(true), .boolean)
        case "false" where !dollar: return (.boolean(false), .boolean)
        default:
            throw error("unknown name '\(word)'; a condition reads value and labels.<name>", at: start)
        }
    }
}
