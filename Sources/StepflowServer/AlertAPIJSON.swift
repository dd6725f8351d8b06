import Foundation
import StepflowCore

/// The JSON of the alerting API, in and out: rules, silences, and the bodies of acknowledge and resolve.
enum AlertAPIJSON {
    // MARK: Rules

    static let ruleKeys = [
        "name", "description", "query", "condition", "severity", "labels", "annotations", "for", "evaluation_interval",
        "keep_firing_for", "enabled",
    ]
    static let ruleExample =
        #"{"name": "DiskAlmostFull", "query": "disk_used_ratio", "condition": {"greater_than": 0.9}, "for": "5m"}"#

    /// A rule from a request body.
    static func rule(_ body: [UInt8]) throws(MonitoringError) -> AlertRule {
        let fields = try object(body, keys: ruleKeys, example: ruleExample)
        func text(_ key: String, required: Bool = false) throws(MonitoringError) -> String? {
            switch fields[key] {
            case nil, .null?:
                if required { throw .invalidQuery("\"\(key)\" is required", hint: "send \(ruleExample)") }
                return nil
            case .string(let value)?: return value
            case let other?: throw .invalidQuery("\"\(key)\" must be a string, found \(MetricJSON.kind(of: other))")
            }
        }
        func duration(_ key: String) throws(MonitoringError) -> Duration? {
            switch fields[key] {
            case nil, .null?: return nil
            case .string(let value)?: return try LogTraceRoutes.duration(value, key)
            case .int(let seconds)?: return try LogTraceRoutes.seconds(Double(seconds), key)
            case .double(let seconds)?: return try LogTraceRoutes.seconds(seconds, key)
            case let other?: throw .invalidQuery("\"\(key)\" must be a duration such as \"5m\", found \(other.jsonText)")
            }
        }
        func strings(_ key: String) throws(MonitoringError) -> [String: String] {
            switch fields[key] {
            case nil, .null?: return [:]
            case .object(let members)?:
                var out: [String: String] = [:]
                for (name, value) in members {
                    guard case .string(let text) = value else {
                        throw .invalidQuery("\"\(key).\(name)\" must be a string, found \(MetricJSON.kind(of: value))")
                    }
                    out[name] = text
                }
                return out
            case let other?: throw .invalidQuery("\"\(key)\" must be an object of strings, found \(MetricJSON.kind(of: other))")
            }
        }
        guard let conditionJSON = fields["condition"] else {
            throw .invalidQuery("\"condition\" is required, such as {\"greater_than\": 0.9}", hint: "send \(ruleExample)")
        }
        var severity = AlertSeverity.warning
        if let text = try text("severity") {
            guard let parsed = AlertSeverity(rawValue: text) else {
                throw .invalidQuery("\"severity\" must be one of " + AlertSeverity.allCases.map(\.rawValue).joined(separator: ", ") + ", found \"\(text)\"")
            }
            severity = parsed
        }
        var enabled = true
        switch fields["enabled"] {
        case nil, .null?: break
        case .bool(let flag)?: enabled = flag
        case let other?: throw .invalidQuery("\"enabled\" must be true or false, found \(MetricJSON.kind(of: other))")
        }
        return AlertRule(
            name: try text("name", required: true) ?? "", description: try text("description") ?? "",
            query: try text("query", required: true) ?? "", condition: try AlertCondition(json: conditionJSON),
            severity: severity, labels: try strings("labels").map { Label($0.key, $0.value) },
            annotations: try strings("annotations"), forDuration: try duration("for"),
            evaluationInterval: try duration("evaluation_interval"), keepFiringFor: try duration("keep_firing_for"),
            enabled: enabled)
    }

    static func json(_ rule: AlertRule) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(rule.id.rawValue), "name": .string(rule.name), "description": .string(rule.description),
            "query": .string(rule.query), "condition": rule.condition.json, "severity": .string(rule.severity.rawValue),
            "labels": .object(Dictionary(rule.labels.map { ($0.name, JSONValue.string($0.value)) }, uniquingKeysWith: { a, _ in a })),
            "annotations": .object(rule.annotations.mapValues(JSONValue.string)), "enabled": .bool(rule.enabled),
            "created_at": .string(rule.createdAt.rfc3339), "updated_at": .string(rule.updatedAt.rfc3339),
        ]
        let durations: [(String, Duration?)] = [
            ("for", rule.forDuration), ("evaluation_interval", rule.evaluationInterval), ("keep_firing_for", rule.keepFiringFor),
        ]
        for (key, duration) in durations { if let duration { object[key] = .double(duration.inSeconds) } }
        if let source = rule.source { object["source"] = .string(source) }
        return .object(object)
    }

    // MARK: Acknowledge and resolve

    /// `{"user": "…", "message": "…"}`: who acts, and why.
    static func action(_ body: [UInt8]) throws(MonitoringError) -> (user: String, message: String) {
        let example = #"{"user": "ana", "message": "looking into it"}"#
        let fields = try object(body, keys: ["user", "message"], example: example)
        guard case .string(let user)? = fields["user"], !user.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .invalidQuery("\"user\" is required: who acknowledges or resolves the alert", hint: "send \(example)")
        }
        var message = ""
        switch fields["message"] {
        case nil, .null?: break
        case .string(let text)?: message = text
        case let other?: throw .invalidQuery("\"message\" must be a string, found \(MetricJSON.kind(of: other))")
        }
        return (user, message)
    }

    // MARK: Silences

    static let silenceKeys = ["matchers", "starts_at", "ends_at", "duration", "created_by", "comment"]
    static let silenceExample =
        #"{"matchers": "{alertname=\"DiskAlmostFull\", mount=~\"/srv.*\"}", "duration": "2h", "created_by": "ana", "comment": "migration"}"#

    /// A silence from a request body: matchers as a selector (`{alertname="X"}`) or as `[{"name", "op", "value"}]`,
    /// `starts_at` (default now) and either `ends_at` or `duration`.
    static func silence(_ body: [UInt8], now: Date) throws(MonitoringError) -> Silence {
        let fields = try object(body, keys: silenceKeys, example: silenceExample)
        var matchers: [LabelMatcher] = []
        switch fields["matchers"] {
        case .string(let text)?:
            let selector = try MetricSelector.parse(text)
            matchers = selector.matchers + selector.nameMatchers
            if let name = selector.name { matchers.append(.equal("alertname", name)) }
        case .array(let items)?:
            for item in items {
                guard case .object(let parts) = item, case .string(let name)? = parts["name"],
                    case .string(let value)? = parts["value"]
                else { throw .invalidQuery("each matcher is {\"name\", \"op\", \"value\"}", hint: "send \(silenceExample)") }
                var op = LabelMatcher.Operator.equal
                if case .string(let text)? = parts["op"] {
                    guard let parsed = LabelMatcher.Operator(rawValue: text) else {
                        throw .invalidQuery("a matcher's \"op\" is =, !=, =~ or !~, found \"\(text)\"")
                    }
                    op = parsed
                }
                matchers.append(try LabelMatcher(name, op, value))
            }
        default:
            throw .invalidQuery("\"matchers\" is required: a selector such as {alertname=\"DiskAlmostFull\"}", hint: "send \(silenceExample)")
        }
        let startsAt = try time(fields["starts_at"], key: "starts_at") ?? now
        var endsAt = try time(fields["ends_at"], key: "ends_at")
        if case .string(let text)? = fields["duration"] {
            guard endsAt == nil else { throw .invalidQuery("give ends_at or duration, not both") }
            endsAt = startsAt.addingTimeInterval(try LogTraceRoutes.duration(text, "duration").inSeconds)
        }
        guard let endsAt else { throw .invalidQuery("\"ends_at\" or \"duration\" is required", hint: "send \(silenceExample)") }
        guard case .string(let createdBy)? = fields["created_by"] else {
            throw .invalidQuery("\"created_by\" is required: who sets the silence", hint: "send \(silenceExample)")
        }
        var comment = ""
        if case .string(let text)? = fields["comment"] { comment = text }
        return Silence(matchers: matchers, startsAt: startsAt, endsAt: endsAt, createdBy: createdBy, comment: comment, createdAt: now)
    }

    static func json(_ silence: Silence, now: Date) -> JSONValue {
        .object([
            "id": .string(silence.id), "matchers": .array(silence.matchers.map { .string($0.description) }),
            "starts_at": .string(silence.startsAt.rfc3339), "ends_at": .string(silence.endsAt.rfc3339),
            "created_by": .string(silence.createdBy), "comment": .string(silence.comment),
            "created_at": .string(silence.createdAt.rfc3339),
            "state": .string(silence.isActive(at: now) ? "active" : silence.endsAt <= now ? "expired" : "pending"),
        ])
    }

    // MARK: Helpers

    static func time(_ value: JSONValue?, key: String) throws(MonitoringError) -> Date? {
        try RequestParameters.jsonTime(value, key: key).get()
    }

    /// The members of a body that must be one JSON object with only `keys`.
    static func object(_ body: [UInt8], keys: [String], example: String) throws(MonitoringError) -> [String: JSONValue] {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw .invalidQuery("the body is not valid JSON: \(MetricJSON.describe(error))", hint: "send \(example)")
        }
        guard case .object(let fields) = root else {
            throw .invalidQuery("the body must be a JSON object", hint: "send \(example)")
        }
        if let unknown = fields.keys.sorted().first(where: { !keys.contains($0) }) {
            throw .invalidQuery("unknown key \"\(unknown)\"" + MetricJSON.suggestion(for: unknown, among: keys), hint: "send \(example)")
        }
        return fields
    }
}
