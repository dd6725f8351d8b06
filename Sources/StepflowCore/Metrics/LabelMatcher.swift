import CStepflowRE2
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
///
/// It is RE2, Prometheus' own engine: the same syntax, and a match takes time linear in the text, whatever the
/// pattern (a backtracking engine took 27 s over 20 series for `(a+)+`). A pattern whose compiled program would
/// need more than ``maxProgramMemory`` is refused.
public struct AnchoredRegex: Sendable, Hashable {
    public let pattern: String
    private let compiled: CompiledRE2

    /// The most memory one pattern's program may take (RE2's `max_mem`): 1 MiB, plenty for any selector.
    public static let maxProgramMemory = 1 << 20

    /// - Parameter what: how to name the pattern in an error, e.g. "the regex for label 'job'".
    public init(_ pattern: String, what: String = "the regex") throws(MonitoringError) {
        self.pattern = pattern
        switch CompiledRE2.compile(pattern) {
        case .success(let compiled):
            self.compiled = compiled
        case .failure(let reason):
            throw .invalidQuery(
                "\(what) \(MetricSelector.quote(pattern)) does not compile: \(reason.text)",
                hint: "use RE2/Prometheus syntax, e.g. \"api-.*\" or \"(a|b)\"; escape a literal dot as \\\\.")
        }
    }

    public static func == (lhs: AnchoredRegex, rhs: AnchoredRegex) -> Bool { lhs.pattern == rhs.pattern }

    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    /// Whether the whole of `text` matches.
    public func matches(_ text: String) -> Bool { compiled.fullMatch(text) }
}

/// An RE2 program, freed with its last reference. RE2 matches from many threads at once.
private final class CompiledRE2: Sendable {
    struct Failure: Error {
        let text: String
    }

    private nonisolated(unsafe) let handle: OpaquePointer

    private init(handle: OpaquePointer) { self.handle = handle }

    static func compile(_ pattern: String) -> Result<CompiledRE2, Failure> {
        var error = [CChar](repeating: 0, count: 256)
        var pattern = pattern
        let handle = pattern.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                stepflow_re2_compile($0.baseAddress, $0.count, Int64(AnchoredRegex.maxProgramMemory), &error, error.count)
            }
        }
        guard let handle else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(Failure(text: reason.isEmpty ? "invalid pattern" : reason))
        }
        return .success(CompiledRE2(handle: handle))
    }

    func fullMatch(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { stepflow_re2_full_match(handle, $0.baseAddress, $0.count) != 0 }
        }
    }

    deinit { stepflow_re2_free(handle) }
}
