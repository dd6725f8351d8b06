import Foundation
import GRDB
import StepflowCore

/// An alert as stored, with the status it was last notified in (so a restart does not notify it again).
public struct StoredAlert: Sendable, Hashable {
    public var alert: Alert
    /// `firing`, `resolved` or `acknowledged` once a notification went out for that status; `nil` before.
    public var notifiedStatus: AlertStatus?

    public init(alert: Alert, notifiedStatus: AlertStatus? = nil) {
        self.alert = alert
        self.notifiedStatus = notifiedStatus
    }
}

/// Alert rules in `monitoring_alert_rules`, alerts in `monitoring_alerts`, silences in `monitoring_silences`.
public struct AlertStore: Sendable {
    public let database: MonitoringDatabase

    public init(database: MonitoringDatabase) {
        self.database = database
    }

    // MARK: Rules

    static let ruleColumns = """
        id, name, description, query, condition, severity, labels, annotations, for_duration_seconds,
        evaluation_interval_seconds, keep_firing_for_seconds, enabled, created_at, updated_at, source
        """

    /// Inserts or replaces the rule with `rule.id`.
    ///
    /// - Throws: `invalidAlertCondition` when another rule has the same name, `databaseError` otherwise.
    public func save(_ rule: AlertRule) async throws(MonitoringError) {
        let arguments: StatementArguments = [
            rule.id.rawValue, rule.name, rule.description, rule.query, rule.condition.json.jsonText,
            rule.severity.rawValue, MetricValueCoding.encodeLabels(rule.labels),
            JSONValue.object(rule.annotations.mapValues(JSONValue.string)).jsonText, rule.forDuration?.inSeconds,
            rule.evaluationInterval?.inSeconds, rule.keepFiringFor?.inSeconds, rule.enabled,
            rule.createdAt.unixMilliseconds, rule.updatedAt.unixMilliseconds, rule.source,
        ]
        try await database.write("save alert rule '\(rule.name)'") { db in
            if let other = try String.fetchOne(
                db, sql: "SELECT id FROM monitoring_alert_rules WHERE name = ? AND id != ?",
                arguments: [rule.name, rule.id.rawValue])
            {
                throw MonitoringError(
                    .invalidAlertCondition, "a rule named '\(rule.name)' already exists (id \(other))",
                    hint: "give the rule another name, or update that one")
            }
            try db.execute(
                sql: "INSERT OR REPLACE INTO monitoring_alert_rules (\(Self.ruleColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: arguments)
        }
    }

    /// Deletes a rule; `false` when there was none with that id.
    public func deleteRule(_ id: AlertRuleID) async throws(MonitoringError) -> Bool {
        return try await database.write("delete alert rule \(id)") { db in
            try db.execute(sql: "DELETE FROM monitoring_alert_rules WHERE id = ?", arguments: [id.rawValue])
            return db.changesCount > 0
        }
    }

    /// Every stored rule, by name.
    public func rules() async throws(MonitoringError) -> [AlertRule] {
        return try await database.read("read the alert rules") { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.ruleColumns) FROM monitoring_alert_rules ORDER BY name")
                .compactMap(Self.rule)
        }
    }

    static func rule(_ row: Row) -> AlertRule? {
        guard let conditionText: String = row[4],
            let conditionJSON = try? MetricValueCoding.decoder.decode(JSONValue.self, from: Data(conditionText.utf8)),
            let condition = try? AlertCondition(json: conditionJSON),
            let severity = AlertSeverity(rawValue: row[5])
        else { return nil }
        func duration(_ index: Int) -> Duration? {
            // Rules are validated before they are stored; a value no rule could have (a file from an older
            // version, edited by hand) reads as unset rather than stopping the host at start.
            guard let seconds = row[index] as Double?, seconds.isFinite, abs(seconds) <= 1e12 else { return nil }
            return .milliseconds(Int64((seconds * 1000).rounded()))  // range: |seconds| ≤ 1e12, checked above
        }
        var annotations: [String: String] = [:]
        for (key, value) in MetricValueCoding.decodeMetadata(row[7]) {
            if case .string(let text) = value { annotations[key] = text }
        }
        return AlertRule(
            id: AlertRuleID(row[0]), name: row[1], description: row[2] ?? "", query: row[3], condition: condition,
            severity: severity, labels: MetricValueCoding.decodeLabels(row[6]), annotations: annotations,
            forDuration: duration(8), evaluationInterval: duration(9), keepFiringFor: duration(10), enabled: row[11],
            createdAt: Date(unixMilliseconds: row[12]), updatedAt: Date(unixMilliseconds: row[13]), source: row[14])
    }

    // MARK: Alerts

    static let alertColumns = """
        alert_id, rule_id, name, description, severity, status, labels, annotations, value, value_text, fired_at,
        firing_since, resolved_at, resolved_by, resolution_message, acknowledged_at, acknowledged_by,
        acknowledgement_message, last_active_at, silenced_by, fingerprint, notified_status
        """

    /// Inserts or updates alerts (by id) in one transaction, and deletes `removed` (pending alerts whose condition
    /// cleared: they never fired, so they leave no history).
    public func save(_ alerts: [StoredAlert], removing removed: [AlertID] = []) async throws(MonitoringError) {
        guard !alerts.isEmpty || !removed.isEmpty else { return }
        try await database.write("save \(alerts.count) alerts") { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO monitoring_alerts (\(Self.alertColumns))
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(alert_id) DO UPDATE SET
                    status = excluded.status, labels = excluded.labels, annotations = excluded.annotations,
                    value = excluded.value, value_text = excluded.value_text, firing_since = excluded.firing_since,
                    resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by,
                    resolution_message = excluded.resolution_message, acknowledged_at = excluded.acknowledged_at,
                    acknowledged_by = excluded.acknowledged_by,
                    acknowledgement_message = excluded.acknowledgement_message,
                    last_active_at = excluded.last_active_at, silenced_by = excluded.silenced_by,
                    notified_status = excluded.notified_status, description = excluded.description,
                    severity = excluded.severity, name = excluded.name
                """)
            for stored in alerts {
                try statement.execute(arguments: Self.arguments(stored))
            }
            for id in removed {
                try db.execute(sql: "DELETE FROM monitoring_alerts WHERE alert_id = ?", arguments: [id.rawValue])
            }
        }
    }

    static func arguments(_ stored: StoredAlert) -> StatementArguments {
        let alert = stored.alert
        var number: Double?
        var text: String?
        switch alert.value {
        case .number(let value)?: number = value.isFinite ? value : nil
        case .text(let value)?: text = value
        case nil: break
        }
        let silenced = alert.silencedBy.isEmpty ? nil : JSONValue.array(alert.silencedBy.map(JSONValue.string)).jsonText
        return [
            alert.id.rawValue, alert.ruleID.rawValue, alert.name, alert.description, alert.severity.rawValue,
            alert.status.rawValue, MetricValueCoding.encodeLabels(alert.labels),
            JSONValue.object(alert.annotations.mapValues(JSONValue.string)).jsonText, number, text,
            alert.activeSince.unixMilliseconds, alert.firedAt?.unixMilliseconds, alert.resolvedAt?.unixMilliseconds,
            alert.resolvedBy, alert.resolutionMessage, alert.acknowledgedAt?.unixMilliseconds, alert.acknowledgedBy,
            alert.acknowledgementMessage, alert.lastActiveAt.unixMilliseconds, silenced, alert.fingerprint,
            stored.notifiedStatus?.rawValue,
        ]
    }

    /// The alerts that are pending, firing or acknowledged, as evaluation left them.
    public func openAlerts() async throws(MonitoringError) -> [StoredAlert] {
        try await fetch(where: "status IN ('pending', 'firing', 'acknowledged')", arguments: [], limit: nil)
    }

    /// One alert by id.
    public func alert(_ id: AlertID) async throws(MonitoringError) -> StoredAlert? {
        try await fetch(where: "alert_id = ?", arguments: [id.rawValue], limit: 1).first
    }

    /// Alerts that pass `filter` (resolved ones included when the filter allows them), newest first.
    public func alerts(filter: AlertFilter?, limit: Int = 1000) async throws(MonitoringError) -> [Alert] {
        var conditions: [String] = []
        var arguments: [any DatabaseValueConvertible & Sendable] = []
        if let ruleID = filter?.ruleID {
            conditions.append("rule_id = ?")
            arguments.append(ruleID.rawValue)
        }
        if let name = filter?.name {
            conditions.append("name = ?")
            arguments.append(name)
        }
        if let statuses = filter?.statuses {
            var stored = statuses.subtracting([.silenced])
            if statuses.contains(.silenced) { stored.formUnion([.pending, .firing, .acknowledged]) }
            conditions.append("status IN (" + stored.map { _ in "?" }.joined(separator: ",") + ")")
            arguments += stored.map(\.rawValue).sorted()
        }
        let clause = conditions.isEmpty ? "1" : conditions.joined(separator: " AND ")
        // The remaining conditions (severity order, label matchers, times, silences) are applied in Swift.
        let candidates = try await fetch(where: clause, arguments: arguments, limit: nil)
        var alerts = candidates.map(\.alert)
        if let filter { alerts = alerts.filter(filter.matches) }
        return Array(alerts.prefix(limit))
    }

    private func fetch(
        where clause: String, arguments: [any DatabaseValueConvertible & Sendable], limit: Int?
    ) async throws(MonitoringError) -> [StoredAlert] {
        let limitClause = limit.map { " LIMIT \($0)" } ?? ""
        return try await database.read("read the alerts") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Self.alertColumns) FROM monitoring_alerts WHERE \(clause) ORDER BY fired_at DESC, id DESC\(limitClause)",
                arguments: StatementArguments(arguments)
            ).compactMap(Self.alert)
        }
    }

    static func alert(_ row: Row) -> StoredAlert? {
        guard let severity = AlertSeverity(rawValue: row[4]), let status = AlertStatus(rawValue: row[5]) else { return nil }
        func date(_ index: Int) -> Date? { (row[index] as Int64?).map(Date.init(unixMilliseconds:)) }
        var annotations: [String: String] = [:]
        for (key, value) in MetricValueCoding.decodeMetadata(row[7]) {
            if case .string(let text) = value { annotations[key] = text }
        }
        var value: QueryValue?
        if let number: Double = row[8] { value = .number(number) } else if let text: String = row[9] { value = .text(text) }
        var silencedBy: [String] = []
        if let text: String = row[19],
            case .array(let items)? = try? MetricValueCoding.decoder.decode(JSONValue.self, from: Data(text.utf8))
        {
            silencedBy = items.compactMap { if case .string(let id) = $0 { return id } else { return nil } }
        }
        let activeSince = date(10) ?? Date(timeIntervalSince1970: 0)
        let alert = Alert(
            id: AlertID(row[0]), ruleID: AlertRuleID(row[1]), name: row[2], description: row[3] ?? "",
            severity: severity, status: status, labels: MetricValueCoding.decodeLabels(row[6]),
            annotations: annotations, value: value, activeSince: activeSince, firedAt: date(11), resolvedAt: date(12),
            resolvedBy: row[13], resolutionMessage: row[14], acknowledgedAt: date(15), acknowledgedBy: row[16],
            acknowledgementMessage: row[17], lastActiveAt: date(18) ?? activeSince, silencedBy: silencedBy)
        return StoredAlert(alert: alert, notifiedStatus: (row[21] as String?).flatMap(AlertStatus.init(rawValue:)))
    }

    // MARK: Silences

    /// Inserts or replaces a silence.
    public func save(_ silence: Silence) async throws(MonitoringError) {
        let matchers = JSONValue.array(silence.matchers.map { matcher in
            .object(["name": .string(matcher.name), "op": .string(matcher.op.rawValue), "value": .string(matcher.value)])
        }).jsonText
        try await database.write("save silence \(silence.id)") { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO monitoring_silences (id, matchers, starts_at, ends_at, created_by, comment, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    silence.id, matchers, silence.startsAt.unixMilliseconds, silence.endsAt.unixMilliseconds,
                    silence.createdBy, silence.comment, silence.createdAt.unixMilliseconds,
                ])
        }
    }

    /// Deletes the history older than `cutoff`, in small transactions: alerts resolved before it and silences that
    /// ended before it. Open alerts and rules are never touched. Returns how many rows were deleted.
    public func deleteHistory(olderThan cutoff: Date, batchSize: Int = 5_000) async throws(MonitoringError) -> Int {
        let alerts = try await RetentionSQL.delete(
            from: "monitoring_alerts", timestampColumn: "resolved_at", olderThan: cutoff, batchSize: batchSize,
            database: database, only: "status = '\(AlertStatus.resolved.rawValue)'")
        let silences = try await RetentionSQL.delete(
            from: "monitoring_silences", timestampColumn: "ends_at", olderThan: cutoff, batchSize: batchSize,
            database: database)
        return alerts + silences
    }

    /// Silences, by start time; those that ended before `endedAfter` left out when it is given.
    public func silences(endedAfter: Date? = nil) async throws(MonitoringError) -> [Silence] {
        return try await database.read("read the silences") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at FROM monitoring_silences
                    WHERE ends_at > ? ORDER BY starts_at, id
                    """,
                arguments: [endedAfter?.unixMilliseconds ?? Int64.min]
            ).compactMap(Self.silence)
        }
    }

    static func silence(_ row: Row) -> Silence? {
        let text: String = row[1]
        guard case .array(let items)? = try? MetricValueCoding.decoder.decode(JSONValue.self, from: Data(text.utf8)) else {
            return nil
        }
        var matchers: [LabelMatcher] = []
        for item in items {
            guard case .object(let fields) = item, case .string(let name)? = fields["name"],
                case .string(let op)? = fields["op"], let matcherOp = LabelMatcher.Operator(rawValue: op),
                case .string(let value)? = fields["value"], let matcher = try? LabelMatcher(name, matcherOp, value)
            else { return nil }
            matchers.append(matcher)
        }
        return Silence(
            id: row[0], matchers: matchers, startsAt: Date(unixMilliseconds: row[2]), endsAt: Date(unixMilliseconds: row[3]),
            createdBy: row[4], comment: row[5], createdAt: Date(unixMilliseconds: row[6]))
    }
}
