import Foundation
import StepflowAlerting
import StepflowCore

/// `GET /dashboard/alerts`: open or resolved alerts with filters; each open one can be acknowledged or resolved
/// with a message, or silenced from its labels (`GET /dashboard/silences/new?alert=<id>` pre-fills the form).
/// Below them, the active silences, each with a button that expires it. The actions are posts to
/// ``DashboardRoutes``, which need the write role and the page's form token.
enum AlertsPage {
    static let maximumAlerts = 100

    static let statusChoices: [(String, String)] = [("open", "open"), ("resolved", "resolved"), ("all", "open and resolved")]

    static func render(_ request: DashboardRequest, engine: AlertEngine) async throws(MonitoringError) -> String {
        let parameters = request.parameters
        let statusChoice = parameters.text("status") ?? "open"
        guard statusChoices.contains(where: { $0.0 == statusChoice }) else {
            throw .invalidQuery("status: expected open, resolved or all, found '\(statusChoice.prefix(64))'")
        }
        var filter = AlertFilter(name: parameters.text("rule"))
        if let text = parameters.text("severity") { filter.minimumSeverity = try AlertRoutes.severity(text) }
        var alerts: [Alert] = []
        if statusChoice != "resolved" {
            alerts += try await engine.getActiveAlerts(filter: filter)
        }
        if statusChoice != "open" {
            var resolved = filter
            resolved.statuses = [.resolved]
            alerts += try await engine.store.alerts(filter: resolved, limit: maximumAlerts)
        }
        // Most urgent first, then the oldest.
        alerts.sort { $0.severity != $1.severity ? $0.severity > $1.severity : $0.activeSince < $1.activeSince }

        var body = ""
        body += DashboardNotice.html(parameters)
        body += "<form method=\"get\" action=\"/dashboard/alerts\" class=\"filters\" aria-label=\"Alert filters\">"
        body += HTML.select("status", label: "Status", statusChoices, selected: statusChoice)
        body += HTML.select("severity", label: "Severity at least",
                            [("", "any")] + AlertSeverity.allCases.sorted(by: >).map { ($0.rawValue, $0.rawValue) },
                            selected: parameters.text("severity"))
        body += HTML.input("rule", label: "Rule", value: filter.name)
        body += "<button type=\"submit\">Filter</button></form>\n"

        body += "<h2>\(alerts.count) alert\(alerts.count == 1 ? "" : "s")</h2>"
        if alerts.count > maximumAlerts {
            body += "<p class=\"muted\">showing the \(maximumAlerts) most urgent: filter by rule or severity to see the others</p>"
        }
        if alerts.isEmpty { body += "<p class=\"muted\">no alerts match</p>" }
        for alert in alerts.prefix(maximumAlerts) { body += card(alert, request: request) }

        body += "<h2 id=\"silences\">Active silences</h2>"
        let silences = try await engine.listSilences(includeExpired: false)
        body += HTML.table(
            ["matchers", "ends", "created by", "comment", ""],
            silences.map { silence in
                ["<code>\(HTML.escape(silence.matchers.map(\.description).joined(separator: ", ")))</code>",
                 HTML.time(silence.endsAt), HTML.escape(silence.createdBy), HTML.truncated(silence.comment, 300),
                 request.canWrite
                    ? "<form method=\"post\" action=\"/dashboard/silences/\(HTML.segment(silence.id))/expire\">\(request.tokenField)<button type=\"submit\">Expire</button></form>"
                    : ""]
            }, empty: "no active silences")
        return DashboardLayout.page(.alerts, title: "Alerts", body: body, now: request.now)
    }

    /// One alert: what it is, its labels and annotations, who acted on it, and (when open) its actions.
    static func card(_ alert: Alert, request: DashboardRequest) -> String {
        let id = alert.id.rawValue
        var html = "<article class=\"alert\" id=\"alert-\(HTML.escape(id))\" data-alert-id=\"\(HTML.escape(id))\" data-status=\"\(HTML.escape(alert.status.rawValue))\">"
        html += "<h3>\(HTML.escape(alert.name)) \(HTML.badge(alert.severity.rawValue)) \(HTML.badge(alert.status.rawValue))"
        if alert.isSilenced, alert.status != .silenced { html += " " + HTML.badge("silenced") }
        html += "</h3><p class=\"muted\">since \(HTML.time(alert.activeSince))"
        if let value = alert.value { html += " · value <span class=\"num\">\(HTML.escape(value.description))</span>" }
        if let resolved = alert.resolvedAt { html += " · resolved \(HTML.time(resolved))" }
        html += "</p><p><code>\(HTML.labels(alert.labels))</code></p>"
        if !alert.description.isEmpty { html += "<p>\(HTML.truncated(alert.description, 1000))</p>" }
        if !alert.annotations.isEmpty {
            html += "<dl class=\"annotations\">"
            for key in alert.annotations.keys.sorted().prefix(20) {
                html += "<div><dt>\(HTML.escape(key))</dt><dd>\(HTML.truncated(alert.annotations[key] ?? "", 1000))</dd></div>"
            }
            html += "</dl>"
        }
        if let by = alert.acknowledgedBy {
            html += "<p class=\"muted\">acknowledged by \(HTML.escape(by))\(alert.acknowledgementMessage.map { ": " + HTML.truncated($0, 500) } ?? "")</p>"
        }
        if let by = alert.resolvedBy {
            html += "<p class=\"muted\">resolved by \(HTML.escape(by))\(alert.resolutionMessage.map { ": " + HTML.truncated($0, 500) } ?? "")</p>"
        }
        guard alert.status != .resolved, request.canWrite else { return html + "</article>\n" }
        html += "<div class=\"actions\">"
        for (verb, label) in [("ack", "Acknowledge"), ("resolve", "Resolve")] where verb == "resolve" || alert.status != .acknowledged {
            html += "<form method=\"post\" action=\"/dashboard/alerts/\(HTML.segment(id))/\(verb)\">\(request.tokenField)"
            html += "<label>\(label) with message <input type=\"text\" name=\"message\" maxlength=\"1000\"></label>"
            html += "<button type=\"submit\" name=\"action\" value=\"\(verb)\">\(label)</button></form>"
        }
        html += "<a class=\"button\" href=\"/dashboard/silences/new\(HTML.query([("alert", id)]))\">Silence…</a>"
        return html + "</div></article>\n"
    }

    /// The durations a silence can be created for.
    static let silenceDurations: [(String, String)] = [
        ("30m", "30 minutes"), ("1h", "1 hour"), ("2h", "2 hours"), ("6h", "6 hours"), ("24h", "1 day"), ("168h", "7 days"),
    ]

    /// `GET /dashboard/silences/new?alert=<id>`: the silence form, its matchers taken from the alert's labels.
    static func newSilence(_ request: DashboardRequest, engine: AlertEngine) async throws(MonitoringError) -> String {
        var matchers = ""
        var about = ""
        if let id = request.parameters.text("alert") {
            var found = try await engine.getActiveAlerts(filter: nil).first { $0.id.rawValue == id }
            if found == nil { found = try await engine.store.alert(AlertID(id))?.alert }
            guard let alert = found else {
                throw MonitoringError(.alertNotFound, "no alert \(id.prefix(64))", hint: "pick one on the Alerts page")
            }
            var labels = alert.labels.filter { $0.name != "alertname" }
            labels.insert(Label("alertname", alert.name), at: 0)
            matchers = HTML.labelText(labels)
            about = "<p>Silences <strong>\(HTML.escape(alert.name))</strong> and every alert with the same labels; remove matchers to silence more.</p>"
        }
        var body = about
        body += "<form method=\"post\" action=\"/dashboard/silences\" class=\"stacked\" aria-label=\"New silence\">\(request.tokenField)"
        body += "<label>Matchers <input type=\"text\" name=\"matchers\" required size=\"80\" value=\"\(HTML.escape(matchers))\" placeholder='{alertname=\"DiskFull\", instance=\"a\"}'></label>"
        body += HTML.select("duration", label: "Duration", silenceDurations, selected: "1h")
        body += "<label>Comment <input type=\"text\" name=\"comment\" maxlength=\"1000\" size=\"60\"></label>"
        body += "<button type=\"submit\">Create silence</button></form>"
        return DashboardLayout.page(.alerts, title: "New silence", body: body, now: request.now)
    }
}
