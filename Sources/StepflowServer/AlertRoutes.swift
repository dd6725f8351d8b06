import Foundation
import Hummingbird
import NIOCore
import StepflowAlerting
import StepflowCore

/// What the alerting API reads and writes.
public struct AlertAPI: Sendable {
    public var engine: AlertEngine
    public var maxBodyBytes: Int

    public init(engine: AlertEngine, maxBodyBytes: Int) {
        self.engine = engine
        self.maxBodyBytes = maxBodyBytes
    }
}

/// `/api/v1/rules` (list, create, get, replace, delete), `/api/v1/alerts` (list, get, `…/ack`, `…/resolve`) and
/// `/api/v1/silences` (list, create, expire). docs/http-api.md has the schemas.
enum AlertRoutes {
    static func register(on router: SecuredRouter, api: AlertAPI) {
        let engine = api.engine

        // MARK: Rules

        router.get("/api/v1/rules", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let parameters = RequestParameters(request)
                var filter = AlertFilter(name: parameters.text("name"))
                if let text = parameters.text("severity") { filter.minimumSeverity = try severity(text) }
                if let text = parameters.text("enabled") { filter.enabled = text == "true" }
                if let text = parameters.text("match") { filter.matchers = try matchers(text) }
                let rules = try await engine.listAlertRules(filter: filter)
                return MetricsRoutes.json(
                    .object(["count": .int(Int64(rules.count)), "rules": .array(rules.map(AlertAPIJSON.json))]), status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.post("/api/v1/rules", needs: .role(.admin)) { request, _ -> Response in
            guard let body = await LogTraceRoutes.collect(request, limit: api.maxBodyBytes) else {
                return LogTraceRoutes.tooLarge(api.maxBodyBytes)
            }
            do throws(MonitoringError) {
                let id = try await engine.createAlertRule(try AlertAPIJSON.rule(body))
                return MetricsRoutes.json(AlertAPIJSON.json(try await engine.getAlertRule(id)), status: .created)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.get("/api/v1/rules/{id}", needs: .role(.read)) { _, context -> Response in
            do throws(MonitoringError) {
                let id = AlertRuleID(context.parameters.get("id") ?? "")
                return MetricsRoutes.json(AlertAPIJSON.json(try await engine.getAlertRule(id)), status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.put("/api/v1/rules/{id}", needs: .role(.admin)) { request, context -> Response in
            guard let body = await LogTraceRoutes.collect(request, limit: api.maxBodyBytes) else {
                return LogTraceRoutes.tooLarge(api.maxBodyBytes)
            }
            do throws(MonitoringError) {
                let id = AlertRuleID(context.parameters.get("id") ?? "")
                try await engine.updateAlertRule(id, rule: try AlertAPIJSON.rule(body))
                return MetricsRoutes.json(AlertAPIJSON.json(try await engine.getAlertRule(id)), status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.delete("/api/v1/rules/{id}", needs: .role(.admin)) { _, context -> Response in
            do throws(MonitoringError) {
                try await engine.deleteAlertRule(AlertRuleID(context.parameters.get("id") ?? ""))
                return Response(status: .noContent)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        // MARK: Alerts

        router.get("/api/v1/alerts", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let parameters = RequestParameters(request)
                var filter = AlertFilter(name: parameters.text("rule"), since: try parameters.time("since"), until: try parameters.time("until"))
                if let text = parameters.text("rule_id") { filter.ruleID = AlertRuleID(text) }
                if let text = parameters.text("severity") { filter.minimumSeverity = try severity(text) }
                if let text = parameters.text("match") { filter.matchers = try matchers(text) }
                if let text = parameters.text("status") { filter.statuses = try statuses(text) }
                let limit = try parameters.integer("limit", default: 100, range: 1...10_000)
                let alerts: [Alert]
                if filter.statuses?.contains(.resolved) == true {
                    alerts = try await engine.store.alerts(filter: filter, limit: limit)
                } else {
                    alerts = Array(try await engine.getActiveAlerts(filter: filter).prefix(limit))
                }
                return MetricsRoutes.json(
                    .object(["count": .int(Int64(alerts.count)), "alerts": .array(alerts.map(\.json))]), status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.get("/api/v1/alerts/{id}", needs: .role(.read)) { _, context -> Response in
            do throws(MonitoringError) {
                let id = AlertID(context.parameters.get("id") ?? "")
                if let open = try await engine.getActiveAlerts(filter: nil).first(where: { $0.id == id }) {
                    return MetricsRoutes.json(open.json, status: .ok)
                }
                guard let stored = try await engine.store.alert(id) else {
                    throw MonitoringError(.alertNotFound, "no alert \(id)", hint: "list alerts with GET /api/v1/alerts?status=firing,resolved")
                }
                return MetricsRoutes.json(stored.alert.json, status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        for (verb, acknowledge) in [("ack", true), ("resolve", false)] {
            router.post("/api/v1/alerts/{id}/\(verb)", needs: .role(.write)) { request, context -> Response in
                guard let body = await LogTraceRoutes.collect(request, limit: api.maxBodyBytes) else {
                    return LogTraceRoutes.tooLarge(api.maxBodyBytes)
                }
                do throws(MonitoringError) {
                    let id = AlertID(context.parameters.get("id") ?? "")
                    let (user, message) = try AlertAPIJSON.action(body)
                    if acknowledge {
                        try await engine.acknowledgeAlert(id, user: user, message: message)
                    } else {
                        try await engine.resolveAlert(id, user: user, message: message)
                    }
                    let alert = try await engine.store.alert(id)?.alert
                    return MetricsRoutes.json(alert?.json ?? .object(["id": .string(id.rawValue)]), status: .ok)
                } catch {
                    return MetricsRoutes.failure(error)
                }
            }
        }

        // MARK: Silences

        router.get("/api/v1/silences", needs: .role(.read)) { request, _ -> Response in
            do throws(MonitoringError) {
                let all = RequestParameters(request).text("expired") == "true"
                let silences = try await engine.listSilences(includeExpired: all)
                let now = Date()
                return MetricsRoutes.json(
                    .object(["count": .int(Int64(silences.count)), "silences": .array(silences.map { AlertAPIJSON.json($0, now: now) })]),
                    status: .ok)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.post("/api/v1/silences", needs: .role(.write)) { request, _ -> Response in
            guard let body = await LogTraceRoutes.collect(request, limit: api.maxBodyBytes) else {
                return LogTraceRoutes.tooLarge(api.maxBodyBytes)
            }
            do throws(MonitoringError) {
                let now = Date()
                let silence = try await engine.createSilence(try AlertAPIJSON.silence(body, now: now))
                return MetricsRoutes.json(AlertAPIJSON.json(silence, now: now), status: .created)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }

        router.delete("/api/v1/silences/{id}", needs: .role(.write)) { _, context -> Response in
            do throws(MonitoringError) {
                try await engine.expireSilence(context.parameters.get("id") ?? "")
                return Response(status: .noContent)
            } catch {
                return MetricsRoutes.failure(error)
            }
        }
    }

    static func severity(_ text: String) throws(MonitoringError) -> AlertSeverity {
        guard let severity = AlertSeverity(rawValue: text) else {
            throw .invalidQuery("severity: expected " + AlertSeverity.allCases.map(\.rawValue).joined(separator: ", ") + ", found '\(text)'")
        }
        return severity
    }

    /// `status=firing,acknowledged`: the statuses named, comma-separated.
    static func statuses(_ text: String) throws(MonitoringError) -> Set<AlertStatus> {
        var statuses = Set<AlertStatus>()
        for part in text.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let status = AlertStatus(rawValue: name) else {
                throw .invalidQuery("status: expected " + AlertStatus.allCases.map(\.rawValue).joined(separator: ", ") + ", found '\(name)'")
            }
            statuses.insert(status)
        }
        return statuses
    }

    /// `match={team="ops",instance=~"db.*"}`: label matchers, written as a selector.
    static func matchers(_ text: String) throws(MonitoringError) -> [LabelMatcher] {
        let selector = try MetricSelector.parse(text)
        var matchers = selector.matchers + selector.nameMatchers
        if let name = selector.name { matchers.append(.equal("alertname", name)) }
        return matchers
    }
}
