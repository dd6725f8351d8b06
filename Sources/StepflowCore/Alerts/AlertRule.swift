import Foundation

/// The identity of an alert rule: the spec's `AlertRuleId`.
public struct AlertRuleID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A new, random id.
    public static func random() -> AlertRuleID { AlertRuleID(UUID().uuidString.lowercased()) }

    public var description: String { rawValue }

    public static func < (lhs: AlertRuleID, rhs: AlertRuleID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How urgent an alert is: the spec's `AlertSeverity`.
public enum AlertSeverity: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case critical, warning, info, debug

    private var rank: Int {
        switch self {
        case .critical: return 3
        case .warning: return 2
        case .info: return 1
        case .debug: return 0
        }
    }

    public static func < (lhs: AlertSeverity, rhs: AlertSeverity) -> Bool { lhs.rank < rhs.rank }
}

/// A rule that raises alerts: the spec's `AlertRule`, plus `keepFiringFor` (Prometheus' `keep_firing_for`).
///
/// Every series of `query` is tested against `condition` every `evaluationInterval`; a series for which it holds
/// is pending, and firing once it has held for `forDuration`.
public struct AlertRule: Sendable, Hashable {
    public var id: AlertRuleID
    /// Unique among rules.
    public var name: String
    public var description: String
    /// An ``AlertQuery`` (docs/alerting.md).
    public var query: String
    public var condition: AlertCondition
    public var severity: AlertSeverity
    /// Added to every alert the rule raises (a series label of the same name is overridden).
    public var labels: [Label]
    /// Templates (`{{ $labels.instance }}`, `{{ $value }}`) expanded for each alert.
    public var annotations: [String: String]
    /// How long the condition must hold before an alert fires; `nil` for `alerts.default_for_duration`.
    public var forDuration: Duration?
    /// How often the rule is evaluated; `nil` for `alerts.evaluation_interval`.
    public var evaluationInterval: Duration?
    /// How long a firing alert keeps firing after its condition clears, against flapping; `nil` for none.
    public var keepFiringFor: Duration?
    public var enabled: Bool
    public var createdAt: Date
    public var updatedAt: Date
    /// Where the rule was declared: `nil` for the API, else the file (such rules are read-only over the API).
    public var source: String?

    public init(
        id: AlertRuleID = .random(), name: String, description: String = "", query: String,
        condition: AlertCondition, severity: AlertSeverity = .warning, labels: [Label] = [],
        annotations: [String: String] = [:], forDuration: Duration? = nil, evaluationInterval: Duration? = nil,
        keepFiringFor: Duration? = nil, enabled: Bool = true, createdAt: Date = Date(), updatedAt: Date = Date(),
        source: String? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.query = query
        self.condition = condition
        self.severity = severity
        self.labels = labels.sorted()
        self.annotations = annotations
        self.forDuration = forDuration
        self.evaluationInterval = evaluationInterval
        self.keepFiringFor = keepFiringFor
        self.enabled = enabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.source = source
    }

    /// The longest duration a rule, a query range or a silence may have: ten years. Longer ones are refused when
    /// they are given, so that no stored value overflows the millisecond arithmetic they go through.
    public static let longestDuration: Duration = .seconds(10 * 366 * 86_400)
    /// ``longestDuration`` as the error messages say it.
    public static let longestDurationText = "10 years (3660d)"

    /// The rule checked and compiled: its query parsed, its condition fitted to the query, its templates parsed.
    ///
    /// - Throws: `invalidQuery` or `invalidAlertCondition` naming the rule and what is wrong.
    /// - Parameter limits: `limits:`; a name past `max_name_length`, or a description, query, label value or
    ///   annotation past `max_text_length`, is refused.
    public func validated(limits: LimitsConfig = .default) throws(MonitoringError) -> ValidatedAlertRule {
        func named(_ error: MonitoringError) -> MonitoringError {
            MonitoringError(error.code, "rule '\(name)': \(error.message)", hint: error.hint)
        }
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw MonitoringError(.invalidAlertCondition, "a rule needs a name", hint: "give it a unique name")
        }
        guard name.utf8.count <= limits.maxNameLength else {
            throw MonitoringError(
                .invalidAlertCondition,
                "a rule name is \(name.utf8.count) bytes long, more than limits.max_name_length (\(limits.maxNameLength))")
        }
        let texts = [("description", description), ("query", query), ("condition", condition.description)]
            + labels.map { ("label '\($0.name.prefix(64))'", $0.value) }
            + annotations.map { ("annotation '\($0.key.prefix(64))'", $0.value) }
        for (what, text) in texts where text.utf8.count > limits.maxTextLength {
            throw MonitoringError(
                .invalidAlertCondition,
                "rule '\(name)': \(what) is \(text.utf8.count) bytes long, more than limits.max_text_length "
                    + "(\(limits.maxTextLength))")
        }
        for key in annotations.keys where key.utf8.count > limits.maxNameLength {
            throw MonitoringError(
                .invalidAlertCondition,
                "rule '\(name)': an annotation name is longer than limits.max_name_length (\(limits.maxNameLength))")
        }
        for (what, duration) in [("for", forDuration), ("evaluation_interval", evaluationInterval), ("keep_firing_for", keepFiringFor)] {
            if let duration, duration < .zero {
                throw MonitoringError(.invalidAlertCondition, "rule '\(name)': \(what) cannot be negative")
            }
            if let duration, duration > Self.longestDuration {
                throw MonitoringError(.invalidAlertCondition, "rule '\(name)': \(what) may be at most \(Self.longestDurationText)")
            }
        }
        if let interval = evaluationInterval, interval <= .zero {
            throw MonitoringError(.invalidAlertCondition, "rule '\(name)': evaluation_interval must be longer than 0")
        }
        for label in labels where !MetricNameRules.isValidLabelName(label.name) {
            throw MonitoringError(.invalidAlertCondition, "rule '\(name)': '\(label.name)' is not a valid label name")
        }
        do throws(MonitoringError) {
            let parsed = try AlertQuery.parse(query)
            let condition = try condition.compiled(for: parsed.valueType)
            var templates: [String: AlertTemplate] = [:]
            for (key, text) in annotations {
                templates[key] = try AlertTemplate(text, field: "annotation '\(key)'")
            }
            var labelTemplates: [String: AlertTemplate] = [:]
            for label in labels {
                labelTemplates[label.name] = try AlertTemplate(label.value, field: "label '\(label.name)'")
            }
            return ValidatedAlertRule(
                rule: self, query: parsed, condition: condition, annotations: templates, labels: labelTemplates)
        } catch {
            throw named(error)
        }
    }
}

/// An ``AlertRule`` with its query parsed, condition compiled and templates parsed.
public struct ValidatedAlertRule: Sendable, Hashable {
    public let rule: AlertRule
    public let query: AlertQuery
    public let condition: CompiledAlertCondition
    public let annotations: [String: AlertTemplate]
    public let labels: [String: AlertTemplate]
}
