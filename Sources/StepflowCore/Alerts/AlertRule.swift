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
}
