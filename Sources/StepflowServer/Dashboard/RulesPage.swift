import Foundation
import StepflowAlerting
import StepflowCore

/// `GET /dashboard/rules`: every alert rule with its state (firing, pending, inactive or disabled, from its open
/// alerts), its last evaluation, how long that took, and the error it ended with.
enum RulesPage {
    static func render(_ request: DashboardRequest, engine: AlertEngine) async throws(MonitoringError) -> String {
        let rules = try await engine.listAlertRules(filter: nil).sorted { $0.name < $1.name }
        let statuses = await engine.evaluationStatus
        let open = try await engine.getActiveAlerts(filter: nil)
        var openByRule: [AlertRuleID: [AlertStatus: Int]] = [:]
        for alert in open { openByRule[alert.ruleID, default: [:]][alert.status, default: 0] += 1 }
        let rows = rules.map { rule -> [String] in
            let counts = openByRule[rule.id] ?? [:]
            let firing = (counts[.firing] ?? 0) + (counts[.acknowledged] ?? 0) + (counts[.silenced] ?? 0)
            let state: String
            if !rule.enabled {
                state = HTML.badge("disabled")
            } else if firing > 0 {
                state = HTML.badge("firing") + " <span class=\"num\">\(firing)</span>"
            } else if let pending = counts[.pending], pending > 0 {
                state = HTML.badge("pending") + " <span class=\"num\">\(pending)</span>"
            } else {
                state = HTML.badge("inactive")
            }
            let status = statuses[rule.name]
            let last = status?.lastEvaluatedAt.map(HTML.time) ?? "<span class=\"muted\">not yet</span>"
            let took = status.map { "<span class=\"num\">\(HTML.escape(HTML.duration(seconds: $0.lastDuration.inSeconds)))</span>" } ?? ""
            let error = status?.lastError.map { "<span class=\"failing\">\(HTML.truncated($0, 500))</span>" } ?? ""
            return [
                "<a href=\"/dashboard/alerts\(HTML.query([("rule", rule.name), ("status", "all")]))\">\(HTML.escape(rule.name))</a>"
                    + (rule.source.map { "<br><span class=\"muted small\">\(HTML.escape($0))</span>" } ?? ""),
                "<code>\(HTML.truncated(rule.query, 300))</code><br><span class=\"muted\">\(HTML.escape(rule.condition.description))</span>",
                HTML.badge(rule.severity.rawValue), state, last, took,
                "<span class=\"num\">\(status?.evaluations ?? 0) / \(status?.failures ?? 0)</span>", error,
                toggle(rule, request),
            ]
        }
        var body = ""
        body += DashboardNotice.html(request.parameters)
        body += HTML.table(
            ["rule", "query and condition", "severity", "state", "last evaluation", "took", "runs / failures", "last error", ""],
            rows, empty: "no alert rules: add them under alerts.rules in the configuration or POST /api/v1/rules")
        return DashboardLayout.page(.rules, title: "Rules", body: body, now: request.now)
    }

    /// The rule's Enable or Disable button, for an admin; a rule from a file says so instead (it is the file's).
    static func toggle(_ rule: AlertRule, _ request: DashboardRequest) -> String {
        guard request.canAdmin else { return "" }
        guard rule.source == nil else { return "<span class=\"muted small\">from a file</span>" }
        let verb = rule.enabled ? "disable" : "enable"
        return "<form method=\"post\" action=\"/dashboard/rules/\(HTML.segment(rule.id.rawValue))/\(verb)\">\(request.tokenField)"
            + "<button type=\"submit\" aria-label=\"\(rule.enabled ? "Disable" : "Enable") \(HTML.escape(rule.name))\">\(rule.enabled ? "Disable" : "Enable")</button></form>"
    }
}
