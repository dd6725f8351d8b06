import Foundation
import StepflowCore
import StepflowStorage

/// The state transitions of alerts, as pure functions of values: no storage, no notifier, no clock, no actor.
/// ``AlertEngine`` keeps storage, notification and bookkeeping around it (async-http-client's connection-pool
/// state machine is the model: the decisions in a value type that tests can drive exhaustively).
///
/// The states (docs/alerting.md): a series that meets its rule's condition opens a **pending** alert, **firing**
/// once the condition has held for the rule's `for`; a person may **acknowledge** a firing alert, which stays
/// acknowledged while its condition holds; an alert whose condition no longer holds is **resolved**, unless
/// `keep_firing_for` still holds it open, and a pending one simply goes (it never fired). Silences only flag an
/// alert and hold back its firing notification. A notification goes out once per state: firing, then resolved
/// (and acknowledged when someone acknowledges), resolved only for an alert that was notified.
public enum AlertStateMachine {
    /// What one evaluation needs to know of its rule.
    public struct Rule: Sendable, Hashable {
        public var id: AlertRuleID
        public var name: String
        public var description: String
        public var severity: AlertSeverity
        /// How long the condition must hold before a pending alert fires (`for`).
        public var forDuration: Duration
        /// How long a firing alert stays open after its condition stops holding (`keep_firing_for`).
        public var keepFiringFor: Duration
        /// The most alerts the rule may hold open (`alerts.max_alerts_per_rule`).
        public var maxAlerts: Int

        public init(
            id: AlertRuleID, name: String, description: String = "", severity: AlertSeverity, forDuration: Duration,
            keepFiringFor: Duration = .zero, maxAlerts: Int
        ) {
            self.id = id
            self.name = name
            self.description = description
            self.severity = severity
            self.forDuration = forDuration
            self.keepFiringFor = keepFiringFor
            self.maxAlerts = maxAlerts
        }
    }

    /// One series that meets the rule's condition at this evaluation.
    public struct Match: Sendable, Hashable {
        /// The alert's labels (the series', the rule's and `alertname`), sorted.
        public var labels: [Label]
        public var annotations: [String: String]
        public var value: QueryValue?

        public init(labels: [Label], annotations: [String: String], value: QueryValue?) {
            self.labels = labels
            self.annotations = annotations
            self.value = value
        }
    }

    /// What one evaluation changed.
    public struct Step: Sendable {
        /// The rule's open alerts after it, by fingerprint.
        public var open: [String: StoredAlert] = [:]
        /// Alerts to store: every open one, and the ones resolved now.
        public var changed: [StoredAlert] = []
        /// Pending alerts that went without firing: deleted from storage.
        public var removed: [AlertID] = []
        public var notifications: [AlertNotification] = []
        /// Alerts that started firing.
        public var fired = 0
        /// Matches skipped because the rule already held `maxAlerts` open alerts.
        public var overflow: UInt64 = 0
    }

    /// One evaluation of a rule: `open` is what it held before, `matches` the series that meet its condition now
    /// (duplicates by labels count once), `silences` the silences in effect.
    public static func evaluate(
        _ rule: Rule, open: [String: StoredAlert], matches: [Match], silences: [Silence], notify: Bool, at time: Date
    ) -> Step {
        var step = Step()
        var current = open
        var seen = Set<String>()
        for match in matches {
            let fingerprint = Alert.fingerprint(match.labels)
            guard seen.insert(fingerprint).inserted else { continue }
            if var stored = current[fingerprint] {
                stored.alert.value = match.value
                stored.alert.lastActiveAt = time
                stored.alert.annotations = match.annotations
                if stored.alert.status == .pending,
                    time >= stored.alert.activeSince.addingTimeInterval(rule.forDuration.inSeconds)
                {
                    stored.alert.status = .firing
                    stored.alert.firedAt = time
                    step.fired += 1
                }
                current[fingerprint] = stored
            } else {
                guard current.count < rule.maxAlerts else {
                    step.overflow += 1
                    continue
                }
                let fires = rule.forDuration <= .zero
                if fires { step.fired += 1 }
                current[fingerprint] = StoredAlert(alert: Alert(
                    ruleID: rule.id, name: rule.name, description: rule.description, severity: rule.severity,
                    status: fires ? .firing : .pending, labels: match.labels, annotations: match.annotations,
                    value: match.value, activeSince: time, firedAt: fires ? time : nil, lastActiveAt: time))
            }
        }
        for (fingerprint, var stored) in current {
            if !seen.contains(fingerprint) {
                if stored.alert.status == .pending {
                    step.removed.append(stored.alert.id)
                    current[fingerprint] = nil
                    continue
                }
                if time >= stored.alert.lastActiveAt.addingTimeInterval(rule.keepFiringFor.inSeconds) {
                    stored.alert.resolutionMessage = "the condition no longer holds"
                    let notification = resolve(&stored, by: nil, message: nil, notify: notify, at: time)
                    if let notification { step.notifications.append(notification) }
                    step.changed.append(stored)
                    current[fingerprint] = nil
                    continue
                }
                // keep_firing_for: not resolved yet, against flapping.
            }
            stored.alert.silencedBy = silences.filter { $0.matches(ruleName: rule.name, labels: stored.alert.labels) }.map(\.id)
            if notify, stored.alert.status == .firing, !stored.alert.isSilenced, stored.notifiedStatus != .firing {
                step.notifications.append(AlertNotification(event: .firing, alert: stored.alert))
                stored.notifiedStatus = .firing
            }
            current[fingerprint] = stored
            step.changed.append(stored)
        }
        step.open = current
        return step
    }

    /// Acknowledges an open alert; returns the notification owed, if any.
    /// - Throws: `invalidQuery` when it is already acknowledged (naming by whom).
    public static func acknowledge(
        _ stored: inout StoredAlert, by user: String, message: String, notify: Bool, at time: Date
    ) throws(MonitoringError) -> AlertNotification? {
        guard stored.alert.status != .acknowledged else {
            throw MonitoringError(
                .invalidQuery,
                "alert \(stored.alert.id) is already acknowledged by \(stored.alert.acknowledgedBy ?? "someone")")
        }
        stored.alert.status = .acknowledged
        stored.alert.acknowledgedAt = time
        stored.alert.acknowledgedBy = user
        stored.alert.acknowledgementMessage = message
        guard notify else { return nil }
        stored.notifiedStatus = .acknowledged
        return AlertNotification(event: .acknowledged, alert: stored.alert, user: user, message: message)
    }

    /// Resolves an open alert (by a person, a rule change or its condition); returns the resolved notification
    /// owed, which is only for an alert that was notified firing or acknowledged.
    public static func resolve(
        _ stored: inout StoredAlert, by user: String?, message: String?, notify: Bool, at time: Date
    ) -> AlertNotification? {
        stored.alert.status = .resolved
        stored.alert.resolvedAt = time
        if let user { stored.alert.resolvedBy = user }
        if let message { stored.alert.resolutionMessage = message }
        guard notify, stored.notifiedStatus == .firing || stored.notifiedStatus == .acknowledged else { return nil }
        stored.notifiedStatus = .resolved
        return AlertNotification(event: .resolved, alert: stored.alert, user: user, message: message)
    }

    /// Closes every open alert of a rule that changed or went away: pending ones go, the others are resolved.
    public static func close(_ open: [String: StoredAlert], message: String, notify: Bool, at time: Date) -> Step {
        var step = Step()
        for var stored in open.values {
            if stored.alert.status == .pending {
                step.removed.append(stored.alert.id)
                continue
            }
            if let notification = resolve(&stored, by: nil, message: message, notify: notify, at: time) {
                step.notifications.append(notification)
            }
            step.changed.append(stored)
        }
        return step
    }
}
