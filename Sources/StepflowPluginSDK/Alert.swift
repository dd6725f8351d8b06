/// One alert the host hands to a ``CustomAlertNotifier``: the spec's `Alert`, flattened.
///
/// A copy: the notifier may keep it after ``CustomAlertNotifier/sendNotification(_:)`` returns.
public struct Alert: Sendable, Hashable {
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
    public var labels: [PluginLabel]
    /// The alert's annotations, in order.
    public var annotations: [PluginLabel]
    /// The value that crossed the rule's threshold.
    public var value: Double
    /// When the alert fired, in Unix milliseconds.
    public var firedAtMilliseconds: Int64
    /// When it was resolved, in Unix milliseconds; `nil` while it is not.
    public var resolvedAtMilliseconds: Int64?

    /// Creates an alert, e.g. in a unit test of a notifier.
    public init(
        alertID: String,
        ruleID: String,
        name: String,
        description: String = "",
        severity: String,
        status: String,
        labels: [PluginLabel] = [],
        annotations: [PluginLabel] = [],
        value: Double,
        firedAtMilliseconds: Int64,
        resolvedAtMilliseconds: Int64? = nil
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
        self.firedAtMilliseconds = firedAtMilliseconds
        self.resolvedAtMilliseconds = resolvedAtMilliseconds
    }
}
