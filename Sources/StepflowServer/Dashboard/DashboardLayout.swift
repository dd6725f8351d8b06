import Foundation
import Hummingbird
import NIOCore
import StepflowCore

/// The pages of the dashboard, in the order of its navigation bar.
enum DashboardTab: String, CaseIterable {
    case overview, metrics, logs, traces, alerts, rules

    var path: String { self == .overview ? "/dashboard" : "/dashboard/\(rawValue)" }
    var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// The frame every page shares (head, navigation, main region) and the headers it is served with.
enum DashboardLayout {
    /// What the pages may load: their own stylesheet and nothing else. No script runs on any page (the charts are
    /// SVG drawn on the server; docs/dashboard.md says why), so a value that slipped past escaping still could not
    /// execute; forms post only to the host.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

    /// A whole page: `body` is already HTML.
    static func page(_ tab: DashboardTab, title: String, body: String, now: Date, refreshSeconds: Int? = nil) -> String {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">

            """
        if let refreshSeconds { html += "<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">\n" }
        html += """
            <link rel="icon" href="data:,">
            <link rel="stylesheet" href="/dashboard/style.css">
            <title>stepflow-monitor · \(HTML.escape(title))</title>
            </head><body>
            <a class="skip" href="#main">Skip to content</a>
            <header><span class="brand">stepflow-monitor</span><nav aria-label="Pages"><ul>
            """
        for item in DashboardTab.allCases {
            let current = item == tab ? " aria-current=\"page\"" : ""
            html += "<li><a href=\"\(item.path)\"\(current)>\(item.title)</a></li>"
        }
        html += """
            </ul></nav><span class="muted clock">\(HTML.time(now)) UTC</span></header>
            <main id="main">
            <h1>\(HTML.escape(title))</h1>

            """
        return html + body + "</main></body></html>\n"
    }

    /// The answer carrying a page, with the headers that keep it from being cached, framed or sniffed.
    static func response(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: contentSecurityPolicy, .xContentTypeOptions: "nosniff",
                .dashboardReferrerPolicy: "same-origin", .dashboardFrameOptions: "DENY",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A page that says what went wrong with the request (a bad filter, an unknown trace) and how to go on.
    static func problem(
        _ tab: DashboardTab, title: String, message: String, hint: String?, status: HTTPResponse.Status, now: Date
    ) -> Response {
        var body = "<div class=\"problem\" role=\"alert\"><p>\(HTML.escape(message))</p>"
        if let hint { body += "<p class=\"muted\">\(HTML.escape(hint))</p>" }
        body += "<p><a href=\"\(tab.path)\">Back to \(tab.title)</a></p></div>\n"
        return response(page(tab, title: title, body: body, now: now), status: status)
    }
}

extension HTTPFields.Element.Name {
    // Two header names swift-http-types does not predefine; both literals are valid field names.
    fileprivate static let dashboardReferrerPolicy = HTTPFields.Element.Name("Referrer-Policy")!
    fileprivate static let dashboardFrameOptions = HTTPFields.Element.Name("X-Frame-Options")!
}
