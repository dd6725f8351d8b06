import Foundation

/// Which rules or alerts a listing returns: the spec's `AlertFilter`. Every field set must match.
public struct AlertFilter: Sendable, Hashable {
    public var ruleID: AlertRuleID?
    /// Alerts in one of these states (`.silenced`: active alerts a silence mutes); rules ignore it.
    public var statuses: Set<AlertStatus>?
    /// This severity and more urgent ones.
    public var minimumSeverity: AlertSeverity?
    /// Alerts (or rules) whose labels these matchers accept.
    public var matchers: [LabelMatcher]
    /// Rules by name, or alerts of the rule of this name.
    public var name: String?
    /// Alerts active since at least then (or, for resolved ones, resolved after `since`).
    public var since: Date?
    public var until: Date?
    /// Rules that are enabled (true) or disabled (false).
    public var enabled: Bool?

    public init(
        ruleID: AlertRuleID? = nil, statuses: Set<AlertStatus>? = nil, minimumSeverity: AlertSeverity? = nil,
        matchers: [LabelMatcher] = [], name: String? = nil, since: Date? = nil, until: Date? = nil,
        enabled: Bool? = nil
    ) {
        self.ruleID = ruleID
        self.statuses = statuses
        self.minimumSeverity = minimumSeverity
        self.matchers = matchers
        self.name = name
        self.since = since
        self.until = until
        self.enabled = enabled
    }

    /// Whether `alert` passes.
    public func matches(_ alert: Alert) -> Bool {
        if let ruleID, alert.ruleID != ruleID { return false }
        if let name, alert.name != name { return false }
        if let statuses {
            let silenced = statuses.contains(.silenced) && alert.isSilenced && alert.status.isActive
            guard statuses.contains(alert.status) || silenced else { return false }
        }
        if let minimumSeverity, alert.severity < minimumSeverity { return false }
        if !matchers.allSatisfy({ $0.matches(alert.labels) }) { return false }
        let time = alert.resolvedAt ?? alert.lastActiveAt
        if let since, time < since { return false }
        if let until, alert.activeSince > until { return false }
        return true
    }

    /// Whether `rule` passes (statuses and times are ignored).
    public func matches(_ rule: AlertRule) -> Bool {
        if let ruleID, rule.id != ruleID { return false }
        if let name, rule.name != name { return false }
        if let minimumSeverity, rule.severity < minimumSeverity { return false }
        if let enabled, rule.enabled != enabled { return false }
        return matchers.allSatisfy { $0.matches(rule.labels) }
    }
}
