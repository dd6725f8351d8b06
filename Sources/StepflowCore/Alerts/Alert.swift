import Foundation

/// The identity of one alert instance: the spec's `AlertId`.
public struct AlertID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static func random() -> AlertID { AlertID(UUID().uuidString.lowercased()) }

    public var description: String { rawValue }

    public static func < (lhs: AlertID, rhs: AlertID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where an alert stands: the spec's `AlertStatus`.
///
/// An alert is `pending` while its condition holds for less than the rule's `for`, then `firing`;
/// `acknowledged` when someone took it (it stays so, and is not notified again, until it resolves); `resolved`
/// when its condition cleared (or someone resolved it). `silenced` is not a state of its own: an active alert that
/// a silence matches keeps its state and is reported with `silenced` set; filters use `.silenced` to find them.
public enum AlertStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, firing, acknowledged, resolved, silenced

    /// Whether the alert is still open (pending, firing or acknowledged).
    public var isActive: Bool { self == .pending || self == .firing || self == .acknowledged }
}

/// One alert instance: a rule's alert for one series of its query (the spec's `Alert`).
public struct Alert: Sendable, Hashable {
    public var id: AlertID
    public var ruleID: AlertRuleID
    /// The rule's name.
    public var name: String
    public var description: String
    public var severity: AlertSeverity
    public var status: AlertStatus
    /// The series' labels and the rule's, sorted by name; with the rule id, the alert's identity.
    public var labels: [Label]
    /// The rule's annotations, expanded for this alert.
    public var annotations: [String: String]
    /// The series' value at the last evaluation.
    public var value: QueryValue?
    /// When the condition started to hold (pending since).
    public var activeSince: Date
    /// When it started firing (`nil` while pending).
    public var firedAt: Date?
    public var resolvedAt: Date?
    public var resolvedBy: String?
    public var resolutionMessage: String?
    public var acknowledgedAt: Date?
    public var acknowledgedBy: String?
    public var acknowledgementMessage: String?
    /// The last evaluation that saw its condition hold.
    public var lastActiveAt: Date
    /// The silences muting it now (empty when none).
    public var silencedBy: [String]

    public init(
        id: AlertID = .random(), ruleID: AlertRuleID, name: String, description: String = "",
        severity: AlertSeverity, status: AlertStatus, labels: [Label], annotations: [String: String] = [:],
        value: QueryValue? = nil, activeSince: Date, firedAt: Date? = nil, resolvedAt: Date? = nil,
        resolvedBy: String? = nil, resolutionMessage: String? = nil, acknowledgedAt: Date? = nil,
        acknowledgedBy: String? = nil, acknowledgementMessage: String? = nil, lastActiveAt: Date? = nil,
        silencedBy: [String] = []
    ) {
        self.id = id
        self.ruleID = ruleID
        self.name = name
        self.description = description
        self.severity = severity
        self.status = status
        self.labels = labels.sorted()
        self.annotations = annotations
        self.value = value
        self.activeSince = activeSince
        self.firedAt = firedAt
        self.resolvedAt = resolvedAt
        self.resolvedBy = resolvedBy
        self.resolutionMessage = resolutionMessage
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
        self.acknowledgementMessage = acknowledgementMessage
        self.lastActiveAt = lastActiveAt ?? activeSince
        self.silencedBy = silencedBy
    }

    /// Whether a silence mutes it.
    public var isSilenced: Bool { !silencedBy.isEmpty }

    /// The identity of the series it is about within its rule: its labels as text.
    public var fingerprint: String { Alert.fingerprint(labels) }

    /// `name="value",…` of sorted labels: how alerts of one rule are told apart.
    public static func fingerprint(_ labels: [Label]) -> String {
        labels.sorted().map { "\($0.name)=\(MetricSelector.quote($0.value))" }.joined(separator: ",")
    }
}
