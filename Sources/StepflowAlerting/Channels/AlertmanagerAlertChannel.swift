import AsyncHTTPClient
import Foundation
import StepflowCore

/// Sends alerts to Alertmanager through its API v2 (`POST /api/v2/alerts`), as Prometheus does: labels (with
/// `alertname`), annotations, `startsAt`, `endsAt` and a `generatorURL` pointing back at this host.
///
/// Alertmanager resolves an alert nobody re-sends by its `endsAt`, so firing alerts are sent with an `endsAt`
/// four resend intervals ahead and re-sent every interval (``resendActive()``), until they resolve; a resolved
/// alert is sent once with `endsAt` its resolution time. An acknowledgement re-sends the alert with
/// `acknowledged_by` and `acknowledged_at` annotations (Alertmanager has no acknowledged state).
public actor AlertmanagerAlertChannel: AlertChannel {
    public nonisolated let name = "alertmanager"
    /// The Alertmanager base URL, without a trailing slash.
    public nonisolated let baseURL: String
    /// How often firing alerts are re-sent.
    public nonisolated let resendInterval: Duration
    private let generatorURL: String
    /// `exporters.external_labels`, added to every alert's labels it does not have.
    private let externalLabels: [Label]
    private let poster: JSONPoster
    private let timeout: Duration
    private let now: @Sendable () -> Date
    /// The firing (and acknowledged) alerts Alertmanager has been told about.
    private var active: [AlertID: Alert] = [:]
    /// Which change last set each alert's entry in ``active``: a send that finishes after a later one (the actor
    /// is reentrant, and a send cut at its timeout may still complete) must not undo it.
    private var changedBy: [AlertID: UInt64] = [:]
    private var changes: UInt64 = 0

    /// - Parameters:
    ///   - baseURL: `http://127.0.0.1:9093`.
    ///   - generatorURL: this host's URL of an alert, with the alert id appended (`http://host:8080/api/v1/alerts/`).
    ///   - externalLabels: added to each alert's labels unless it has one of that name (`exporters.external_labels`).
    public init(
        baseURL: String, generatorURL: String, externalLabels: [Label] = [], resendInterval: Duration = .seconds(60),
        timeout: Duration = .seconds(10), client: HTTPClient = .shared, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.externalLabels = externalLabels
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.generatorURL = generatorURL
        self.resendInterval = resendInterval
        self.timeout = timeout
        self.poster = JSONPoster(client: client)
        self.now = now
    }

    /// The alerts re-sent every interval (the open ones of a restarted host are handed over here at start).
    public func track(_ alerts: [Alert]) {
        changes += 1
        for alert in alerts where alert.status == .firing || alert.status == .acknowledged {
            active[alert.id] = alert
            changedBy[alert.id] = changes
        }
    }

    public func send(_ notifications: [AlertNotification]) async throws(MonitoringError) {
        let time = now()
        changes += 1
        let change = changes
        var postable: [JSONValue] = []
        var delta: [(id: AlertID, alert: Alert?)] = []
        for notification in notifications {
            let alert = notification.alert
            switch notification.event {
            case .firing, .acknowledged:
                delta.append((alert.id, alert))
                postable.append(Self.postable(alert, endsAt: time.addingTimeInterval(resendInterval.inSeconds * 4), generator: generatorURL, externalLabels: externalLabels))
            case .resolved:
                delta.append((alert.id, nil))
                postable.append(Self.postable(alert, endsAt: alert.resolvedAt ?? time, generator: generatorURL, externalLabels: externalLabels))
            }
        }
        try await poster.post(.array(postable), to: baseURL + "/api/v2/alerts", timeout: timeout)
        // Applied as a change, not by replacing the table read before the await: what track() or another send did
        // meanwhile stays, and a later change to the same alert wins.
        for (id, alert) in delta where (changedBy[id] ?? 0) < change {
            active[id] = alert
            changedBy[id] = change
        }
        // Resolved alerts' marks are kept for the last 1,000 changes only (bounded memory).
        if changedBy.count > 10_000 {
            changedBy = changedBy.filter { active[$0.key] != nil || $0.value + 1_000 > changes }
        }
    }

    /// Re-sends every firing alert, so that Alertmanager keeps it open.
    public func resendActive() async throws(MonitoringError) {
        guard !active.isEmpty else { return }
        let endsAt = now().addingTimeInterval(resendInterval.inSeconds * 4)
        let postable = active.values.sorted { $0.id < $1.id }.map { Self.postable($0, endsAt: endsAt, generator: generatorURL, externalLabels: externalLabels) }
        try await poster.post(.array(postable), to: baseURL + "/api/v2/alerts", timeout: timeout)
    }

    /// How many alerts are being kept open in Alertmanager.
    public var activeCount: Int { active.count }

    /// One alert as Alertmanager's `postableAlert`.
    static func postable(_ alert: Alert, endsAt: Date, generator: String, externalLabels: [Label] = []) -> JSONValue {
        var labels: [String: JSONValue] = [:]
        for label in alert.labels where !label.value.isEmpty { labels[label.name] = .string(label.value) }
        for label in externalLabels where labels[label.name] == nil { labels[label.name] = .string(label.value) }
        labels["alertname"] = .string(alert.name)
        labels["severity"] = labels["severity"] ?? .string(alert.severity.rawValue)
        var annotations = alert.annotations.mapValues(JSONValue.string)
        if !alert.description.isEmpty, annotations["description"] == nil { annotations["description"] = .string(alert.description) }
        if let value = alert.value { annotations["value"] = .string(value.description) }
        if let by = alert.acknowledgedBy, let at = alert.acknowledgedAt {
            annotations["acknowledged_by"] = .string(by)
            annotations["acknowledged_at"] = .string(at.rfc3339)
        }
        return .object([
            "labels": .object(labels), "annotations": .object(annotations),
            "startsAt": .string((alert.firedAt ?? alert.activeSince).rfc3339), "endsAt": .string(endsAt.rfc3339),
            "generatorURL": .string(generator + alert.id.rawValue),
        ])
    }
}
