import Foundation
import Hummingbird
import NIOCore
import StepflowAlerting
import StepflowCore
import StepflowSecurity

/// What a page is rendered from: the host's sources, the request's query, the time, and what the caller may do.
struct DashboardRequest {
    let sources: HTTPDataSources
    let parameters: RequestParameters
    let now: Date
    /// Whether the caller has the write role (the alert and silence forms are shown only then).
    let canWrite: Bool
    /// Whether the caller has the admin role (the rules' enable and disable forms are shown only then).
    let canAdmin: Bool
    /// The hidden input every form of the page carries (``RequestForgeryGuard``).
    let tokenField: String
}

/// What an action did, as its page says after the redirect (`?done=acknowledged`). Only these fixed texts are
/// shown: a link cannot make a page display words of its own.
enum DashboardNotice: String {
    case acknowledged, resolved, silenced, expired, enabled, disabled

    var text: String {
        switch self {
        case .acknowledged: "Alert acknowledged."
        case .resolved: "Alert resolved."
        case .silenced: "Silence created: the alerts it matches send no notification until it ends."
        case .expired: "Silence expired."
        case .enabled: "Rule enabled."
        case .disabled: "Rule disabled: its open alerts were closed."
        }
    }

    /// The notice of the page's `done` parameter, as HTML (nothing for a value that is not one).
    static func html(_ parameters: RequestParameters) -> String {
        guard let notice = parameters.text("done").flatMap(DashboardNotice.init(rawValue:)) else { return "" }
        return "<p class=\"notice\" role=\"status\">\(HTML.escape(notice.text))</p>"
    }
}

/// The dashboard's routes (docs/dashboard.md): six pages that need the read role, its stylesheet, and the actions
/// its forms post, which need the write role and the form token of the principal that posts them. An action
/// answers 303 to the page it came from, or a page saying what was wrong.
enum DashboardRoutes {
    /// The form fields of the actions.
    struct ActionForm: Decodable {
        var csrf: String?
        var message: String?
        var matchers: String?
        var duration: String?
        var comment: String?
    }

    static func register(on router: SecuredRouter, sources: HTTPDataSources, forgery: RequestForgeryGuard = RequestForgeryGuard()) {
        let permission = router.permission
        @Sendable func context(_ request: Request, _ context: HostRequestContext) -> DashboardRequest {
            let name = context.principal?.name ?? "anonymous"
            return DashboardRequest(
                sources: sources, parameters: RequestParameters(request), now: Date(),
                canWrite: permission(.write, context.principal), canAdmin: permission(.admin, context.principal),
                tokenField: "<input type=\"hidden\" name=\"csrf\" value=\"\(forgery.token(for: name))\">")
        }
        /// A GET page: `render` throws a ``MonitoringError`` for a bad parameter, answered as a page saying so.
        func page(_ path: String, _ tab: DashboardTab, render: @escaping @Sendable (DashboardRequest, HostRequestContext) async throws(MonitoringError) -> String) {
            router.get(path, needs: .role(.read), browser: true) { request, requestContext -> Response in
                let dashboard = context(request, requestContext)
                do throws(MonitoringError) {
                    return DashboardLayout.response(try await render(dashboard, requestContext))
                } catch {
                    return DashboardLayout.problem(
                        tab, title: tab.title, message: error.message, hint: error.hint,
                        status: MetricsRoutes.status(of: error), now: dashboard.now)
                }
            }
        }

        router.get("/", needs: .role(.read), browser: true) { _, _ -> Response in
            Response(status: .seeOther, headers: [.location: "/dashboard"])
        }
        router.get("/dashboard/style.css", needs: .role(.read), browser: true) { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=300"],
                body: .init(byteBuffer: ByteBuffer(string: DashboardStyle.css)))
        }
        page("/dashboard", .overview) { request, _ in await OverviewPage.render(request) }
        page("/dashboard/metrics", .metrics) { request, _ throws(MonitoringError) in try await MetricsPage.render(request) }
        page("/dashboard/logs", .logs) { request, _ throws(MonitoringError) in try await LogsPage.render(request) }
        page("/dashboard/traces", .traces) { request, _ throws(MonitoringError) in try await TracesPage.search(request) }
        page("/dashboard/traces/{id}", .traces) { request, requestContext throws(MonitoringError) in
            try await TracesPage.trace(request, id: requestContext.parameters.get("id") ?? "")
        }
        guard let engine = sources.alertAPI?.engine else { return }
        let maxBodyBytes = sources.alertAPI?.maxBodyBytes ?? 65_536
        page("/dashboard/alerts", .alerts) { request, _ throws(MonitoringError) in try await AlertsPage.render(request, engine: engine) }
        page("/dashboard/silences/new", .alerts) { request, _ throws(MonitoringError) in try await AlertsPage.newSilence(request, engine: engine) }
        page("/dashboard/rules", .rules) { request, _ throws(MonitoringError) in try await RulesPage.render(request, engine: engine) }

        /// A POST action: checks the form token, runs `act`, and answers 303 to the page it names (`tab`) with its
        /// notice.
        func action(
            _ path: String, needs role: AccessRole = .write, back tab: DashboardTab = .alerts,
            act: @escaping @Sendable (ActionForm, String, HostRequestContext) async throws(MonitoringError) -> (notice: DashboardNotice, anchor: String?)
        ) {
            router.post(path, needs: .role(role), browser: true) { request, requestContext -> Response in
                let now = Date()
                let user = requestContext.principal?.name ?? "anonymous"
                let contentType = request.headers[.contentType]
                guard RequestPolicy.bodyKind(contentType) == .form else {
                    return DashboardLayout.problem(
                        tab, title: "Not done", message: "a dashboard action takes the page's form, not '\(contentType?.prefix(128) ?? "no body")'",
                        hint: "use the form on the dashboard page, or the JSON API under /api/v1", status: .unsupportedMediaType, now: now)
                }
                let form: ActionForm
                do {
                    let body = try await request.body.collect(upTo: maxBodyBytes)
                    form = try URLEncodedFormDecoder().decode(ActionForm.self, from: String(buffer: body))
                } catch {
                    return DashboardLayout.problem(
                        tab, title: "Not done", message: "the form could not be read: \(error)",
                        hint: "send the dashboard's form as application/x-www-form-urlencoded", status: .badRequest, now: now)
                }
                guard forgery.accepts(form.csrf, for: user) else {
                    return DashboardLayout.problem(
                        tab, title: "Not done",
                        message: "the form's token is missing or is not this user's, so the request may come from another site",
                        hint: "reload the dashboard page and submit the form again (tokens change when the host restarts)",
                        status: .forbidden, now: now)
                }
                do throws(MonitoringError) {
                    let (notice, anchor) = try await act(form, user == "anonymous" ? "dashboard" : user, requestContext)
                    let location = tab.path + HTML.rawQuery([("done", notice.rawValue)])
                        + (anchor.map { "#\($0)" } ?? "")
                    return Response(status: .seeOther, headers: [.location: location])
                } catch {
                    return DashboardLayout.problem(
                        tab, title: "Not done", message: error.message, hint: error.hint,
                        status: MetricsRoutes.status(of: error), now: now)
                }
            }
        }

        action("/dashboard/alerts/{id}/ack") { form, user, requestContext throws(MonitoringError) in
            let id = AlertID(requestContext.parameters.get("id") ?? "")
            try await engine.acknowledgeAlert(id, user: user, message: try message(form.message))
            return (.acknowledged, "alert-\(id.rawValue)")
        }
        action("/dashboard/alerts/{id}/resolve") { form, user, requestContext throws(MonitoringError) in
            let id = AlertID(requestContext.parameters.get("id") ?? "")
            try await engine.resolveAlert(id, user: user, message: try message(form.message))
            return (.resolved, nil)
        }
        action("/dashboard/silences") { form, user, _ throws(MonitoringError) in
            guard let text = form.matchers, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw .invalidQuery("a silence needs matchers", hint: #"e.g. {alertname="DiskFull", instance="a"}"#)
            }
            let durationText = form.duration ?? "1h"
            let duration = try LogTraceRoutes.duration(durationText, "duration")
            let now = Date()
            _ = try await engine.createSilence(Silence(
                matchers: try AlertRoutes.matchers(text), startsAt: now, endsAt: now.addingTimeInterval(duration.inSeconds),
                createdBy: user, comment: form.comment ?? ""))
            return (.silenced, "silences")
        }
        for (verb, enabled) in [("enable", true), ("disable", false)] {
            action("/dashboard/rules/{id}/\(verb)", needs: .admin, back: .rules) { _, _, requestContext throws(MonitoringError) in
                let id = requestContext.parameters.get("id") ?? ""
                return (try await setEnabled(enabled, rule: id, engine: engine), nil)
            }
        }
        action("/dashboard/silences/{id}/expire") { _, _, requestContext throws(MonitoringError) in
            try await engine.expireSilence(requestContext.parameters.get("id") ?? "")
            return (.expired, "silences")
        }
    }

    /// Turns a rule on or off (admin): a rule declared in a file is the file's to change (409 saying so).
    static func setEnabled(_ enabled: Bool, rule text: String, engine: AlertEngine) async throws(MonitoringError) -> DashboardNotice {
        let id = AlertRuleID(text)
        var rule = try await engine.getAlertRule(id)
        rule.enabled = enabled
        try await engine.updateAlertRule(id, rule: rule)
        return enabled ? .enabled : .disabled
    }

    /// An action's message, at most 1,000 characters (the API's own limits apply after this).
    static func message(_ text: String?) throws(MonitoringError) -> String {
        let message = text ?? ""
        guard message.count <= 1000 else {
            throw .invalidQuery("the message is \(message.count) characters long; at most 1000 are taken")
        }
        return message
    }
}
