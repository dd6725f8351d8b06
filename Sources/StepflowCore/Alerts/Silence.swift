import Foundation

/// Mutes the alerts its matchers select between `startsAt` and `endsAt`, as an Alertmanager silence does: they
/// keep their state but send no notification. It expires by itself.
public struct Silence: Sendable, Hashable {
    public var id: String
    /// All must accept an alert's labels (`alertname` is the rule's name).
    public var matchers: [LabelMatcher]
    public var startsAt: Date
    public var endsAt: Date
    public var createdBy: String
    public var comment: String
    public var createdAt: Date

    public init(
        id: String = UUID().uuidString.lowercased(), matchers: [LabelMatcher], startsAt: Date, endsAt: Date,
        createdBy: String, comment: String, createdAt: Date = Date()
    ) {
        self.id = id
        self.matchers = matchers
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
        self.createdAt = createdAt
    }

    /// The silence checked: it needs a matcher, a creator, and an end after its start.
    ///
    /// - Throws: `invalidQuery` saying what is missing.
    /// - Parameter limits: `limits:`; a `created_by` past `max_name_length`, or a comment or matcher value past
    ///   `max_text_length`, is refused.
    public func validated(limits: LimitsConfig = .default) throws(MonitoringError) -> Silence {
        guard createdBy.utf8.count <= limits.maxNameLength else {
            throw .invalidQuery(
                "created_by is \(createdBy.utf8.count) bytes long, more than limits.max_name_length (\(limits.maxNameLength))")
        }
        let texts = [("comment", comment)] + matchers.map { ("matcher \($0.name.prefix(64))", $0.description) }
        for (what, text) in texts where text.utf8.count > limits.maxTextLength {
            throw .invalidQuery(
                "\(what) is \(text.utf8.count) bytes long, more than limits.max_text_length (\(limits.maxTextLength))")
        }
        for (what, time) in [("starts_at", startsAt), ("ends_at", endsAt)] {
            _ = try ValidTime.checked(time, what: what)
        }
        guard endsAt.timeIntervalSince(startsAt) <= AlertRule.longestDuration.inSeconds else {
            throw .invalidQuery("a silence may last at most \(AlertRule.longestDurationText)", hint: "give an earlier ends_at")
        }
        guard endsAt > startsAt else {
            throw .invalidQuery("the silence ends (\(endsAt.rfc3339)) before it starts (\(startsAt.rfc3339))",
                                hint: "give ends_at a time after starts_at")
        }
        guard !matchers.isEmpty else {
            throw .invalidQuery("a silence needs at least one matcher", hint: "e.g. alertname=\"DiskFull\"")
        }
        guard matchers.contains(where: { !$0.matches(value: "") }) else {
            throw .invalidQuery("a silence needs a matcher that does not match the empty string, or it would mute every alert")
        }
        guard !createdBy.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidQuery("a silence needs created_by: who set it")
        }
        return self
    }

    /// Whether it is in effect at `time`.
    public func isActive(at time: Date) -> Bool { startsAt <= time && time < endsAt }

    /// Whether it selects an alert of the rule named `ruleName` with `labels`.
    public func matches(ruleName: String, labels: [Label]) -> Bool {
        let all = labels + [Label("alertname", ruleName)]
        return matchers.allSatisfy { $0.matches(all) }
    }
}
