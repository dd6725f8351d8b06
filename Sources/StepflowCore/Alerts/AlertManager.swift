/// Manages alert rules and the alerts they raise: the spec's `AlertManager` trait.
public protocol AlertManager: Sendable {
    /// Validates and stores a new rule, and starts evaluating it.
    func createAlertRule(_ rule: AlertRule) async throws(MonitoringError) -> AlertRuleID
    /// Replaces a rule (its alerts are kept when its query and condition are unchanged, resolved otherwise).
    func updateAlertRule(_ id: AlertRuleID, rule: AlertRule) async throws(MonitoringError)
    /// Deletes a rule and resolves its open alerts.
    func deleteAlertRule(_ id: AlertRuleID) async throws(MonitoringError)
    func getAlertRule(_ id: AlertRuleID) async throws(MonitoringError) -> AlertRule
    func listAlertRules(filter: AlertFilter?) async throws(MonitoringError) -> [AlertRule]
    /// Pending, firing and acknowledged alerts (the filter's statuses narrow that).
    func getActiveAlerts(filter: AlertFilter?) async throws(MonitoringError) -> [Alert]
    /// Marks a pending or firing alert acknowledged by `user`: it is not notified again until it resolves.
    func acknowledgeAlert(_ id: AlertID, user: String, message: String) async throws(MonitoringError)
    /// Resolves an open alert by hand; it opens again if its condition still holds at the next evaluation.
    func resolveAlert(_ id: AlertID, user: String, message: String) async throws(MonitoringError)
}
