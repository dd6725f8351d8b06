/// Which log entries a log term counts: `{level>="error", component="billing", message=~".*timeout.*"}`.
///
/// `level` takes `=`, `!=`, `=~`, `!~` and also `>=`, `>`, `<=`, `<` over the order trace < debug < info < warn <
/// error < fatal. The other fields (`component`, `module`, `function`, `source`, `message`, `trace_id`,
/// `request_id`, `user_id`) take the four label operators, with regexes anchored as in Prometheus.
public struct LogSelector: Sendable, Hashable, CustomStringConvertible {
    /// The levels selected; `nil` for every level.
    public var levels: Set<LogLevel>?
    /// Matchers on the other fields (each matcher's `name` is the field).
    public var matchers: [LabelMatcher]
    /// The level matchers as written, for ``description``.
    var levelText: [String]

    /// The fields a log selector can match, and `by` can group on.
    public static let fields = [
        "level", "component", "module", "function", "source", "message", "trace_id", "request_id", "user_id",
    ]

    public init(levels: Set<LogLevel>? = nil, matchers: [LabelMatcher] = []) {
        self.levels = levels
        self.matchers = matchers
        self.levelText = levels.map { ["level=~" + MetricSelector.quote($0.map(\.rawValue).sorted().joined(separator: "|"))] } ?? []
    }

    package init(levels: Set<LogLevel>?, matchers: [LabelMatcher], levelText: [String]) {
        self.levels = levels
        self.matchers = matchers
        self.levelText = levelText
    }

    public var description: String {
        "{" + (levelText + matchers.map(\.description)).joined(separator: ", ") + "}"
    }

    public static func == (lhs: LogSelector, rhs: LogSelector) -> Bool {
        lhs.levels == rhs.levels && lhs.matchers == rhs.matchers
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(levels)
        hasher.combine(matchers)
    }
}
