import Foundation

/// One condition on a label, as in a Prometheus selector: `name="value"`, `!=`, `=~` (regex) or `!~`.
///
/// As in Prometheus, a label the series does not carry has the value `""` (so `env!="prod"` matches a series
/// without `env`), and regular expressions are fully anchored: `job=~"api"` matches only `api`, `job=~"api.*"`
/// matches `api-eu` too.
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    /// How a matcher compares.
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case matchesRegex = "=~"
        case doesNotMatchRegex = "!~"
    }

    public let name: String
    public let op: Operator
    public let value: String
    private let regex: AnchoredRegex?

    /// A matcher; a regex operator compiles `value` now.
    ///
    /// - Throws: `MonitoringError` `invalidQuery` naming the label and the pattern when the regex does not compile.
    public init(_ name: String, _ op: Operator, _ value: String) throws(MonitoringError) {
        self.name = name
        self.op = op
        self.value = value
        switch op {
        case .equal, .notEqual: regex = nil
        case .matchesRegex, .doesNotMatchRegex:
            regex = try AnchoredRegex(value, what: "the regex for label '\(name)'")
        }
    }

    /// An equality matcher (never throws).
    public static func equal(_ name: String, _ value: String) -> LabelMatcher {
        LabelMatcher(unchecked: name, .equal, value)
    }

    private init(unchecked name: String, _ op: Operator, _ value: String) {
        self.name = name
        self.op = op
        self.value = value
        self.regex = nil
    }

    /// Whether a series with `labels` satisfies this matcher.
    public func matches(_ labels: [Label]) -> Bool {
        matches(value: labels.first(where: { $0.name == name })?.value ?? "")
    }

    /// Whether a label value (`""` when the label is absent) satisfies this matcher.
    public func matches(value candidate: String) -> Bool {
        switch op {
        case .equal: return candidate == value
        case .notEqual: return candidate != value
        case .matchesRegex: return regex!.matches(candidate)
        case .doesNotMatchRegex: return !regex!.matches(candidate)
        }
    }

    /// The matcher as written in a selector: `job=~"api.*"`.
    public var description: String { "\(name)\(op.rawValue)\(MetricSelector.quote(value))" }

    public static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
        lhs.name == rhs.name && lhs.op == rhs.op && lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(op)
        hasher.combine(value)
    }
}

/// A regular expression matched against a whole string, as Prometheus anchors its label and name regexes.
public struct AnchoredRegex: Sendable, Hashable {
    public let pattern: String
    private let compiled: NSRegularExpression

    /// - Parameter what: how to name the pattern in an error, e.g. "the regex for label 'job'".
    public init(_ pattern: String, what: String = "the regex") throws(MonitoringError) {
        self.pattern = pattern
        do {
            compiled = try NSRegularExpression(pattern: "^(?:\(pattern))$", options: [])
        } catch {
            throw .invalidQuery(
                "\(what) \(MetricSelector.quote(pattern)) does not compile",
                hint: "use RE2/Prometheus syntax, e.g. \"api-.*\" or \"(a|b)\"; escape a literal dot as \\\\.")
        }
    }

    public static func == (lhs: AnchoredRegex, rhs: AnchoredRegex) -> Bool { lhs.pattern == rhs.pattern }

    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    /// Whether the whole of `text` matches.
    public func matches(_ text: String) -> Bool {
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return compiled.firstMatch(in: text, options: [.anchored], range: range) != nil
    }
}
