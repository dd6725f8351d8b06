import Foundation

extension Alert {
    /// The alert as the HTTP API, the webhook and the CLI write it:
    /// `{"id", "rule_id", "name", "description", "severity", "status", "silenced", "silenced_by", "labels",
    /// "annotations", "value", "active_since", "fired_at", "resolved_at", "resolved_by", "resolution_message",
    /// "acknowledged_at", "acknowledged_by", "acknowledgement_message", "last_active_at"}`; times in RFC 3339, keys
    /// without a value left out. `value` is a number (`"NaN"`, `"+Inf"`, `"-Inf"` as strings) or text.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id.rawValue), "rule_id": .string(ruleID.rawValue), "name": .string(name),
            "description": .string(description), "severity": .string(severity.rawValue),
            "status": .string(status.rawValue), "silenced": .bool(isSilenced),
            "labels": .object(Dictionary(labels.map { ($0.name, JSONValue.string($0.value)) }, uniquingKeysWith: { a, _ in a })),
            "annotations": .object(annotations.mapValues(JSONValue.string)),
            "active_since": .string(activeSince.rfc3339), "last_active_at": .string(lastActiveAt.rfc3339),
        ]
        if !silencedBy.isEmpty { object["silenced_by"] = .array(silencedBy.map(JSONValue.string)) }
        switch value {
        case .number(let number)?:
            object["value"] = number.isFinite ? .double(number) : .string(QueryValue.number(number).description)
        case .text(let text)?: object["value"] = .string(text)
        case nil: break
        }
        let times: [(String, Date?)] = [("fired_at", firedAt), ("resolved_at", resolvedAt), ("acknowledged_at", acknowledgedAt)]
        for (key, time) in times { if let time { object[key] = .string(time.rfc3339) } }
        let texts: [(String, String?)] = [
            ("resolved_by", resolvedBy), ("resolution_message", resolutionMessage), ("acknowledged_by", acknowledgedBy),
            ("acknowledgement_message", acknowledgementMessage),
        ]
        for (key, text) in texts { if let text { object[key] = .string(text) } }
        return .object(object)
    }
}

extension AlertNotification {
    /// `{"event", "user", "message", "alert"}`: one notification as the webhook sends it.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["event": .string(event.rawValue), "alert": alert.json]
        if let user { object["user"] = .string(user) }
        if let message { object["message"] = .string(message) }
        return .object(object)
    }
}
