/// A Prometheus series selector: `http_requests_total{job="api",status=~"5.."}`, `{__name__=~"node_.*"}` or a
/// bare name.
///
/// Grammar (whitespace allowed between tokens):
///
///     selector := name [ "{" [ matcher { "," matcher } [ "," ] ] "}" ]
///               | "{" matcher { "," matcher } [ "," ] "}"
///     matcher  := label ( "=" | "!=" | "=~" | "!~" ) string
///     name     := [a-zA-Z_:][a-zA-Z0-9_:]*
///     label    := [a-zA-Z_][a-zA-Z0-9_]*
///     string   := '"' … '"' | "'" … "'" | "`" … "`"   (\" \' \\ \n \t escapes; none inside backquotes)
///
/// A matcher on `__name__` applies to the metric name. A selector must name a metric or carry at least one matcher
/// that does not match the empty string, as in Prometheus (`{}` and `{job=~".*"}` alone are refused).
public struct MetricSelector: Sendable, Hashable, CustomStringConvertible {
    /// The metric name, when the selector starts with one.
    public var name: String?
    /// Matchers on `__name__`.
    public var nameMatchers: [LabelMatcher]
    /// Matchers on labels.
    public var matchers: [LabelMatcher]

    public init(name: String? = nil, nameMatchers: [LabelMatcher] = [], matchers: [LabelMatcher] = []) {
        self.name = name
        self.nameMatchers = nameMatchers
        self.matchers = matchers
    }

    /// Parses a whole selector.
    ///
    /// - Throws: `MonitoringError` `invalidQuery` giving the position (1-based column) and what was expected.
    public static func parse(_ text: String) throws(MonitoringError) -> MetricSelector {
        var scanner = SelectorScanner(text)
        let selector = try scanner.selector()
        scanner.skipSpace()
        guard scanner.atEnd else {
            throw scanner.error("expected the end of the selector, found \(scanner.peekDescription)")
        }
        return selector
    }

    /// Whether a series named `seriesName` with `labels` is selected.
    public func matches(name seriesName: String, labels: [Label]) -> Bool {
        if let name, name != seriesName { return false }
        for matcher in nameMatchers where !matcher.matches(value: seriesName) { return false }
        for matcher in matchers where !matcher.matches(labels) { return false }
        return true
    }

    public var description: String {
        var parts = nameMatchers.map(\.description)
        parts += matchers.map(\.description)
        let body = parts.isEmpty ? "" : "{" + parts.joined(separator: ",") + "}"
        return (name ?? "") + body
    }

    /// `text` in double quotes with `"`, `\` and control characters escaped (JSON's escapes, which the selector
    /// syntax reads too).
    public static func quote(_ text: String) -> String { JSONValue.quote(text) }
}

/// A cursor over UTF-8 text with the lexical rules of selectors; the alert query language embeds it.
package struct SelectorScanner {
    package let bytes: [UInt8]
    package var position = 0
    private let text: String

    package init(_ text: String) {
        self.text = text
        self.bytes = Array(text.utf8)
    }

    package var atEnd: Bool { position >= bytes.count }

    package var peek: UInt8? { atEnd ? nil : bytes[position] }

    /// The next character, quoted, or "the end" — for error messages.
    package var peekDescription: String {
        guard !atEnd else { return "the end of the text" }
        var end = position + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "'" + String(decoding: bytes[position..<end], as: UTF8.self) + "'"
    }

    /// An `invalidQuery` error at the current position (a 1-based column, counted in characters).
    package func error(_ message: String, at offset: Int? = nil) -> MonitoringError {
        let at = offset ?? position
        let column = String(decoding: bytes[..<min(at, bytes.count)], as: UTF8.self).count + 1
        return .invalidQuery("at column \(column) of \(MetricSelector.quote(text)): \(message)")
    }

    package mutating func skipSpace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    /// Consumes `literal` (after spaces) when it comes next.
    package mutating func consume(_ literal: String) -> Bool {
        skipSpace()
        let utf8 = Array(literal.utf8)
        guard position + utf8.count <= bytes.count, Array(bytes[position..<(position + utf8.count)]) == utf8 else {
            return false
        }
        position += utf8.count
        return true
    }

    package static func isIdentifierStart(_ byte: UInt8, colon: Bool) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F || (colon && byte == 0x3A)
    }

    package static func isIdentifierPart(_ byte: UInt8, colon: Bool) -> Bool {
        isIdentifierStart(byte, colon: colon) || (byte >= 0x30 && byte <= 0x39)
    }

    /// An identifier (metric names allow `:`), or `nil` when none starts here.
    package mutating func identifier(colon: Bool) -> String? {
        skipSpace()
        guard let first = peek, Self.isIdentifierStart(first, colon: colon) else { return nil }
        let start = position
        while let byte = peek, Self.isIdentifierPart(byte, colon: colon) { position += 1 }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// A quoted string.
    package mutating func quotedString() throws(MonitoringError) -> String {
        skipSpace()
        guard let quote = peek, quote == 0x22 || quote == 0x27 || quote == 0x60 else {
            throw error("expected a quoted string, found \(peekDescription)")
        }
        let start = position
        position += 1
        var out: [UInt8] = []
        while true {
            guard let byte = peek else { throw error("the string that starts here is not closed", at: start) }
            position += 1
            if byte == quote { break }
            if byte == 0x5C, quote != 0x60 {
                guard let escaped = peek else { throw error("the string that starts here is not closed", at: start) }
                position += 1
                switch escaped {
                case 0x6E: out.append(0x0A)  // \n
                case 0x74: out.append(0x09)  // \t
                case 0x72: out.append(0x0D)  // \r
                case 0x5C, 0x22, 0x27, 0x60: out.append(escaped)
                default:
                    // Regexes keep their own escapes (\d, \.): pass them through.
                    out.append(0x5C)
                    out.append(escaped)
                }
                continue
            }
            out.append(byte)
        }
        guard let string = String(validating: out, as: UTF8.self) else {
            throw error("the string is not valid UTF-8", at: start)
        }
        return string
    }

    /// A selector at the current position (see ``MetricSelector``).
    package mutating func selector() throws(MonitoringError) -> MetricSelector {
        skipSpace()
        let start = position
        var selector = MetricSelector()
        selector.name = identifier(colon: true)
        if consume("{") {
            if !consume("}") {
                repeat {
                    skipSpace()
                    if peek == 0x7D { break }  // a trailing comma
                    try matcher(into: &selector)
                } while consume(",")
                guard consume("}") else {
                    throw error("expected ',' or '}' after a label matcher, found \(peekDescription)")
                }
            }
        } else if selector.name == nil {
            throw error("expected a metric name or '{', found \(peekDescription)")
        }
        if selector.name == nil {
            let selective = (selector.nameMatchers + selector.matchers).contains { !$0.matches(value: "") }
            guard selective else {
                throw error(
                    "a selector needs a metric name or a matcher that does not match the empty string", at: start)
            }
        }
        return selector
    }

    private mutating func matcher(into selector: inout MetricSelector) throws(MonitoringError) {
        guard let label = identifier(colon: false) else {
            throw error("expected a label name, found \(peekDescription)")
        }
        skipSpace()
        let op: LabelMatcher.Operator
        if consume("=~") {
            op = .matchesRegex
        } else if consume("!~") {
            op = .doesNotMatchRegex
        } else if consume("!=") {
            op = .notEqual
        } else if consume("=") {
            op = .equal
        } else {
            throw error("expected '=', '!=', '=~' or '!~' after label name '\(label)', found \(peekDescription)")
        }
        let value = try quotedString()
        let matcher = try LabelMatcher(label, op, value)
        if label == "__name__" {
            selector.nameMatchers.append(matcher)
        } else {
            selector.matchers.append(matcher)
        }
    }
}
