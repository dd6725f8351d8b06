import StepflowCore
extension AlertQuery {
    /// Parses an alert query.
    ///
    /// Grammar (whitespace allowed between tokens; `selector` and `string` as in ``MetricSelector``):
    ///
    ///     query        := term { ("+" | "-") term }
    ///     term         := factor { ("*" | "/") factor }
    ///     factor       := "-" factor | number | "(" query ")" | aggregation | range_call | log_call | health | selector
    ///     aggregation  := ("sum" | "avg" | "min" | "max" | "count") [by] "(" query ")" [by]
    ///     by           := "by" "(" [ label { "," label } ] ")"
    ///     range_call   := ("rate" | "increase" | "avg_over_time" | "min_over_time" | "max_over_time"
    ///                      | "sum_over_time" | "count_over_time") "(" selector "[" duration "]" ")"
    ///                   | "quantile_over_time" "(" number "," selector "[" duration "]" ")"
    ///     log_call     := ("count_logs" | "last_log_message") [by] "(" log_selector "[" duration "]" ")" [by]
    ///     log_selector := "{" [ log_matcher { "," log_matcher } [ "," ] ] "}"
    ///     log_matcher  := field ("=" | "!=" | "=~" | "!~") string | "level" (">=" | ">" | "<=" | "<") string
    ///     health       := "health" "(" [ string ] ")"
    ///     duration     := ( digits ("ms" | "s" | "m" | "h" | "d" | "w") )+        e.g. 5m, 1h30m, 250ms
    ///     number       := digits [ "." digits ] [ ("e" | "E") [ "+" | "-" ] digits ] | "NaN" | "Inf"
    ///
    /// A name followed by `(` is a function: one the language does not have is an error naming the functions
    /// it has. Any other name starts a metric selector.
    ///
    /// - Throws: `MonitoringError` `invalidQuery` with the column and what was expected there.
    public static func parse(_ text: String) throws(MonitoringError) -> AlertQuery {
        var parser = AlertQueryParser(text)
        let query = try parser.query()
        parser.scanner.skipSpace()
        guard parser.scanner.atEnd else {
            throw parser.scanner.error("expected an operator or the end of the query, found \(parser.scanner.peekDescription)")
        }
        return query
    }
}

/// The recursive-descent parser behind ``AlertQuery/parse(_:)``.
struct AlertQueryParser {
    var scanner: SelectorScanner
    /// How deeply the factor being parsed is nested; every nested query passes through ``factor()``.
    private var depth = 0
    /// The deepest nesting accepted: far beyond any real query, well within the stack.
    static let maxDepth = 100

    init(_ text: String) {
        scanner = SelectorScanner(text)
    }

    static let functions = ["sum", "avg", "min", "max", "count", "rate", "increase", "avg_over_time",
                            "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
                            "quantile_over_time", "count_logs", "last_log_message", "health"]

    mutating func query() throws(MonitoringError) -> AlertQuery {
        var lhs = try term()
        while true {
            let start = scanner.position
            let op: BinaryOperator
            if scanner.consume("+") { op = .add } else if scanner.consume("-") { op = .subtract } else { return lhs }
            let rhs = try term()
            lhs = try Self.binary(op, lhs, rhs, scanner: scanner, at: start)
        }
    }

    mutating func term() throws(MonitoringError) -> AlertQuery {
        var lhs = try factor()
        while true {
            let start = scanner.position
            let op: BinaryOperator
            if scanner.consume("*") { op = .multiply } else if scanner.consume("/") { op = .divide } else { return lhs }
            let rhs = try factor()
            lhs = try Self.binary(op, lhs, rhs, scanner: scanner, at: start)
        }
    }

    static func binary(
        _ op: BinaryOperator, _ lhs: AlertQuery, _ rhs: AlertQuery, scanner: SelectorScanner, at position: Int
    ) throws(MonitoringError) -> AlertQuery {
        guard lhs.valueType == .number, rhs.valueType == .number else {
            throw scanner.error("'\(op.rawValue)' needs numbers on both sides; log messages and health states are text", at: position)
        }
        if case .number(let a) = lhs, case .number(let b) = rhs { return .number(op.apply(a, b)) }
        return .binary(op, lhs, rhs)
    }

    mutating func factor() throws(MonitoringError) -> AlertQuery {
        scanner.skipSpace()
        let start = scanner.position
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else {
            throw scanner.error("the query nests deeper than \(Self.maxDepth) levels", at: start)
        }
        if scanner.consume("-") {
            let inner = try factor()
            guard inner.valueType == .number else { throw scanner.error("'-' needs a number after it", at: start) }
            if case .number(let value) = inner { return .number(-value) }
            return .binary(.multiply, .number(-1), inner)
        }
        if scanner.consume("(") {
            let inner = try query()
            guard scanner.consume(")") else { throw scanner.error("expected ')', found \(scanner.peekDescription)") }
            return inner
        }
        if let value = number() { return .number(value) }
        guard let name = peekIdentifier() else {
            if scanner.peek == 0x7B {  // '{': a selector without a name
                return .instant(try scanner.selector())
            }
            throw scanner.error("expected a number, a metric selector, a function or '(', found \(scanner.peekDescription)")
        }
        let afterName = scanner.position + name.utf8.count
        let isCall = followedByCallSyntax(at: afterName)
        guard isCall else { return .instant(try scanner.selector()) }
        guard Self.functions.contains(name) else {
            throw scanner.error(
                "unknown function '\(name)'; the functions are " + Self.functions.joined(separator: ", "), at: start)
        }
        scanner.position = afterName
        switch name {
        case "sum", "avg", "min", "max", "count":
            return try aggregation(Aggregation(rawValue: name)!)
        case "count_logs", "last_log_message":
            return try logCall(name)
        case "health":
            return try health()
        case "quantile_over_time":
            try expect("(", after: name)
            scanner.skipSpace()
            let quantileStart = scanner.position
            guard let q = number() else { throw scanner.error("expected the quantile (a number from 0 to 1), found \(scanner.peekDescription)") }
            guard q >= 0, q <= 1 else { throw scanner.error("the quantile must be from 0 to 1, found \(AlertQuery.format(q))", at: quantileStart) }
            try expect(",", after: "the quantile")
            let selector = try rangeSelector(for: name)
            try expect(")", after: "the range selector")
            return .range(.quantileOverTime(q), selector)
        default:
            let function = RangeFunction.unary[name]!
            try expect("(", after: name)
            let selector = try rangeSelector(for: name)
            try expect(")", after: "the range selector")
            return .range(function, selector)
        }
    }

    /// The identifier at the current position, without consuming it.
    mutating func peekIdentifier() -> String? {
        let saved = scanner.position
        defer { scanner.position = saved }
        return scanner.identifier(colon: true)
    }

    /// Whether `(` or `by (` follows a name ending at `position`.
    mutating func followedByCallSyntax(at position: Int) -> Bool {
        let saved = scanner.position
        defer { scanner.position = saved }
        scanner.position = position
        if scanner.consume("(") { return true }
        return scanner.identifier(colon: false) == "by" && scanner.consume("(")
    }

    mutating func expect(_ literal: String, after what: String) throws(MonitoringError) {
        guard scanner.consume(literal) else {
            throw scanner.error("expected '\(literal)' after \(what), found \(scanner.peekDescription)")
        }
    }

    mutating func aggregation(_ aggregation: Aggregation) throws(MonitoringError) -> AlertQuery {
        var grouping = try optionalGrouping(fields: nil)
        try expect("(", after: aggregation.rawValue + (grouping == nil ? "" : " by (…)"))
        let start = scanner.position
        let inner = try query()
        guard inner.valueType == .number else {
            throw scanner.error("\(aggregation.rawValue) needs numbers; this query gives text", at: start)
        }
        try expect(")", after: "the query \(aggregation.rawValue) aggregates")
        if let after = try optionalGrouping(fields: nil) {
            guard grouping == nil else { throw scanner.error("'by' is given twice") }
            grouping = after
        }
        return .aggregate(aggregation, by: grouping ?? [], inner)
    }

    /// `by (a, b)` when it comes next; label names are checked against `fields` when given.
    mutating func optionalGrouping(fields: [String]?) throws(MonitoringError) -> [String]? {
        let saved = scanner.position
        guard scanner.identifier(colon: false) == "by" else {
            scanner.position = saved
            return nil
        }
        try expect("(", after: "by")
        var labels: [String] = []
        if !scanner.consume(")") {
            repeat {
                scanner.skipSpace()
                let start = scanner.position
                guard let label = scanner.identifier(colon: false) else {
                    throw scanner.error("expected a label name in by (…), found \(scanner.peekDescription)")
                }
                if let fields, !fields.contains(label) {
                    throw scanner.error(
                        "logs cannot be grouped by '\(label)'; use " + fields.joined(separator: ", "), at: start)
                }
                labels.append(label)
            } while scanner.consume(",")
            try expect(")", after: "the labels of by (…")
        }
        return labels
    }

    mutating func rangeSelector(for function: String) throws(MonitoringError) -> RangeSelector {
        scanner.skipSpace()
        let selector = try scanner.selector()
        guard scanner.consume("[") else {
            throw scanner.error("\(function) needs a range after its selector, such as [5m]; found \(scanner.peekDescription)")
        }
        let range = try duration()
        try expect("]", after: "the range")
        return RangeSelector(selector, range: range)
    }

    mutating func logCall(_ name: String) throws(MonitoringError) -> AlertQuery {
        var grouping = try optionalGrouping(fields: LogSelector.fields)
        try expect("(", after: name)
        let selector = try logSelector()
        guard scanner.consume("[") else {
            throw scanner.error("\(name) needs a range after its log selector, such as [5m]; found \(scanner.peekDescription)")
        }
        let range = try duration()
        try expect("]", after: "the range")
        try expect(")", after: "the range")
        if let after = try optionalGrouping(fields: LogSelector.fields) {
            guard grouping == nil else { throw scanner.error("'by' is given twice") }
            grouping = after
        }
        return name == "count_logs"
            ? .logCount(selector, range: range, by: grouping ?? [])
            : .lastLogMessage(selector, range: range, by: grouping ?? [])
    }

    mutating func logSelector() throws(MonitoringError) -> LogSelector {
        guard scanner.consume("{") else {
            throw scanner.error("expected a log selector such as {level>=\"error\", component=\"db\"}, found \(scanner.peekDescription)")
        }
        var levels: Set<LogLevel>?
        var levelText: [String] = []
        var matchers: [LabelMatcher] = []
        if !scanner.consume("}") {
            repeat {
                scanner.skipSpace()
                if scanner.peek == 0x7D { break }
                let start = scanner.position
                guard let field = scanner.identifier(colon: false) else {
                    throw scanner.error("expected a log field (\(LogSelector.fields.joined(separator: ", "))), found \(scanner.peekDescription)")
                }
                guard LogSelector.fields.contains(field) else {
                    throw scanner.error("unknown log field '\(field)'; the fields are \(LogSelector.fields.joined(separator: ", "))", at: start)
                }
                scanner.skipSpace()
                let opStart = scanner.position
                var op = ""
                for candidate in ["=~", "!~", "!=", ">=", "<=", "=", ">", "<"] where scanner.consume(candidate) {
                    op = candidate
                    break
                }
                guard !op.isEmpty else {
                    throw scanner.error("expected an operator after '\(field)', found \(scanner.peekDescription)")
                }
                let valueStart = scanner.position
                let value = try scanner.quotedString()
                if field == "level" {
                    let selected = try Self.levels(op, value, scanner: scanner, at: valueStart)
                    levels = (levels ?? Set(LogLevel.allCases)).intersection(selected)
                    levelText.append("level\(op)\(MetricSelector.quote(value))")
                } else {
                    guard let matcherOp = LabelMatcher.Operator(rawValue: op) else {
                        throw scanner.error("'\(op)' compares levels only; \(field) takes =, !=, =~ or !~", at: opStart)
                    }
                    matchers.append(try LabelMatcher(field, matcherOp, value))
                }
            } while scanner.consume(",")
            guard scanner.consume("}") else {
                throw scanner.error("expected ',' or '}' in the log selector, found \(scanner.peekDescription)")
            }
        }
        return LogSelector(levels: levels, matchers: matchers, levelText: levelText)
    }

    /// The levels a level matcher selects.
    static func levels(
        _ op: String, _ value: String, scanner: SelectorScanner, at position: Int
    ) throws(MonitoringError) -> Set<LogLevel> {
        if op == "=~" || op == "!~" {
            let matcher = try LabelMatcher("level", op == "=~" ? .matchesRegex : .doesNotMatchRegex, value)
            return Set(LogLevel.allCases.filter { matcher.matches(value: $0.rawValue) })
        }
        guard let level = LogLevel(parsing: value) else {
            throw scanner.error(
                "unknown log level \(MetricSelector.quote(value)); the levels are "
                    + LogLevel.allCases.map(\.rawValue).joined(separator: ", "), at: position)
        }
        let all = LogLevel.allCases
        switch op {
        case "=": return [level]
        case "!=": return Set(all.filter { $0 != level })
        case ">=": return Set(all.filter { $0 >= level })
        case ">": return Set(all.filter { $0 > level })
        case "<=": return Set(all.filter { $0 <= level })
        default: return Set(all.filter { $0 < level })
        }
    }

    mutating func health() throws(MonitoringError) -> AlertQuery {
        try expect("(", after: "health")
        if scanner.consume(")") { return .health(component: nil) }
        let component = try scanner.quotedString()
        try expect(")", after: "the component")
        return .health(component: component)
    }

    /// A duration: one or more `<digits><unit>`.
    mutating func duration() throws(MonitoringError) -> Duration {
        scanner.skipSpace()
        let start = scanner.position
        var total: Int64 = 0
        var parts = 0
        while let byte = scanner.peek, byte >= 0x30, byte <= 0x39 {
            var count: Int64 = 0
            var tooLong = false
            while let digit = scanner.peek, digit >= 0x30, digit <= 0x39 {
                let (times10, o1) = count.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.addingReportingOverflow(Int64(digit - 0x30))
                tooLong = tooLong || o1 || o2
                count = next
                scanner.position += 1
            }
            let unit: Int64
            if scanner.consume("ms") {
                unit = 1
            } else if scanner.consume("s") {
                unit = 1000
            } else if scanner.consume("m") {
                unit = 60_000
            } else if scanner.consume("h") {
                unit = 3_600_000
            } else if scanner.consume("d") {
                unit = 86_400_000
            } else if scanner.consume("w") {
                unit = 604_800_000
            } else {
                throw scanner.error("expected a duration unit (ms, s, m, h, d, w), found \(scanner.peekDescription)")
            }
            let (part, o1) = count.multipliedReportingOverflow(by: unit)
            let (sum, o2) = total.addingReportingOverflow(part)
            guard !tooLong, !o1, !o2, sum <= AlertRule.longestDuration.clampedMilliseconds else {
                throw scanner.error("a range may be at most \(AlertRule.longestDurationText)", at: start)
            }
            total = sum
            parts += 1
        }
        guard parts > 0 else { throw scanner.error("expected a duration such as 5m or 1h30m, found \(scanner.peekDescription)") }
        guard total > 0 else { throw scanner.error("a range must be longer than 0", at: start) }
        return .milliseconds(total)
    }

    /// A number literal, when one comes next.
    mutating func number() -> Double? {
        scanner.skipSpace()
        let start = scanner.position
        let bytes = scanner.bytes
        for (word, value) in [("NaN", Double.nan), ("Inf", .infinity)] {
            let utf8 = Array(word.utf8)
            let end = start + utf8.count
            guard end <= bytes.count, Array(bytes[start..<end]) == utf8,
                end == bytes.count || !SelectorScanner.isIdentifierPart(bytes[end], colon: true)
            else { continue }
            scanner.position = end
            return value
        }
        var end = start
        func digits() -> Bool {
            let from = end
            while end < bytes.count, bytes[end] >= 0x30, bytes[end] <= 0x39 { end += 1 }
            return end > from
        }
        guard digits() else { return nil }
        if end < bytes.count, bytes[end] == 0x2E {  // .
            end += 1
            _ = digits()
        }
        if end < bytes.count, bytes[end] == 0x65 || bytes[end] == 0x45 {  // e E
            let mark = end
            end += 1
            if end < bytes.count, bytes[end] == 0x2B || bytes[end] == 0x2D { end += 1 }
            if !digits() { end = mark }
        }
        // A digit run followed by a letter is a duration or a name, not a number.
        if end < bytes.count, SelectorScanner.isIdentifierStart(bytes[end], colon: false) { return nil }
        guard let value = Double(String(decoding: bytes[start..<end], as: UTF8.self)) else { return nil }
        scanner.position = end
        return value
    }
}
