import Foundation

/// One alert handed to a notifier plugin: the spec's `Alert`, flattened as `stepflow_alert` carries it.
///
/// Every string is lent to the plugin only for the duration of ``PluginInstance/sendNotification(_:)``.
public struct PluginAlert: Sendable {
    /// The alert's unique id (also what an acknowledgment names).
    public var alertID: String
    /// The id of the rule that fired it.
    public var ruleID: String
    /// The alert's name.
    public var name: String
    /// What the alert means.
    public var description: String
    /// `critical`, `warning`, `info` or `debug`.
    public var severity: String
    /// `firing`, `resolved` or `acknowledged`.
    public var status: String
    /// The alert's labels, in order.
    public var labels: [(name: String, value: String)]
    /// The alert's annotations, in order.
    public var annotations: [(name: String, value: String)]
    /// The value that crossed the rule's threshold.
    public var value: Double
    /// When the alert fired; passed as Unix milliseconds.
    public var firedAt: Date
    /// When it was resolved; `nil` (passed as 0) while it is not.
    public var resolvedAt: Date?

    /// Creates an alert.
    public init(
        alertID: String,
        ruleID: String,
        name: String,
        description: String = "",
        severity: String,
        status: String,
        labels: [(name: String, value: String)] = [],
        annotations: [(name: String, value: String)] = [],
        value: Double,
        firedAt: Date,
        resolvedAt: Date? = nil
    ) {
        self.alertID = alertID
        self.ruleID = ruleID
        self.name = name
        self.description = description
        self.severity = severity
        self.status = status
        self.labels = labels
        self.annotations = annotations
        self.value = value
        self.firedAt = firedAt
        self.resolvedAt = resolvedAt
    }
}
