import Foundation
import StepflowCore
import StepflowLogs

/// `GET /dashboard/logs`: the log API's filters (level, component, text, trace id, time range), newest first,
/// a page at a time ("Older entries" follows the API's cursor). Each entry opens to its context and fields; a
/// trace id links to the trace.
enum LogsPage {
    static let pageSize = 50
    /// Characters of a message shown in the entry's line; the whole (up to ``maximumMessage``) when it is opened.
    static let summaryLength = 160
    static let maximumMessage = 2000
    static let maximumFields = 20
    static let maximumFieldLength = 200

    static func render(_ request: DashboardRequest) async throws(MonitoringError) -> String {
        let parameters = request.parameters
        let range = try DashboardTimeRange(parameters, now: request.now, defaultPreset: "24h")
        var query = LogQuery(
            minimumLevel: try parameters.text("level").map(LogLevel.parse), since: range.start, until: range.end,
            component: parameters.text("component"), traceID: parameters.text("trace_id"),
            messageContains: parameters.text("q"), limit: pageSize)
        if let trace = query.traceID { _ = try TraceID.parse(trace) }
        if let cursor = parameters.text("cursor") { query.cursor = try LogCursor(parsing: cursor) }
        query = try query.validated()

        let filters: [(String, String?)] = [
            ("level", parameters.text("level")), ("component", query.component), ("q", query.messageContains),
            ("trace_id", query.traceID),
        ] + range.queryPairs
        var body = "<form method=\"get\" action=\"/dashboard/logs\" class=\"filters\" aria-label=\"Log filters\">"
        body += HTML.select("level", label: "Level at least", [("", "any")] + LogLevel.allCases.map { ($0.rawValue, $0.rawValue) },
                            selected: parameters.text("level"))
        body += HTML.input("component", label: "Component", value: query.component)
        body += HTML.input("q", label: "Message contains", value: query.messageContains)
        body += HTML.input("trace_id", label: "Trace id", value: query.traceID, size: 34)
        body += range.formFields + "<button type=\"submit\">Filter</button></form>\n"

        guard let engine = request.sources.logTraceAPI?.logs else {
            return DashboardLayout.page(.logs, title: "Logs", body: body + "<p class=\"muted\">the log store is not available</p>", now: request.now)
        }
        let page = try await engine.queryPage(query)
        if page.entries.isEmpty {
            body += "<p class=\"muted\">no log entries match</p>"
        } else {
            body += "<ol class=\"logs\">"
            for entry in page.entries { body += item(entry) }
            body += "</ol>"
        }
        body += "<nav class=\"pager\" aria-label=\"Log pages\">"
        if query.cursor != nil { body += "<a href=\"/dashboard/logs\(HTML.query(filters))\">Newest entries</a> " }
        if let next = page.nextCursor {
            body += "<a href=\"/dashboard/logs\(HTML.query(filters + [("cursor", next.description)]))\" rel=\"next\">Older entries</a>"
        }
        body += "</nav>"
        return DashboardLayout.page(.logs, title: "Logs", body: body, now: request.now)
    }

    /// One entry: its line (time, level, component, message) and, opened, its context and fields.
    static func item(_ entry: LogEntry) -> String {
        let context = entry.context
        var html = "<li><details><summary><span class=\"num\">\(HTML.preciseTime(entry.timestamp))</span> "
        html += HTML.badge(entry.level.rawValue) + " <code>\(HTML.escape(context.component))</code> "
        html += "<span class=\"message\">\(HTML.truncated(entry.message, summaryLength))</span></summary>"
        var rows: [[String]] = [["message", "<pre>\(HTML.truncated(entry.message, maximumMessage))</pre>"]]
        if let trace = context.traceID {
            var cell = "<a href=\"/dashboard/traces/\(HTML.segment(trace))\"><code>\(HTML.escape(trace))</code></a>"
            cell += " · <a href=\"/dashboard/logs\(HTML.query([("trace_id", trace)]))\">all logs of this trace</a>"
            rows.append(["trace", cell])
        }
        let fields: [(String, String?)] = [
            ("span", context.spanID), ("module", context.module), ("function", context.function),
            ("line", context.line.map { String($0) }), ("request", context.requestID), ("user", context.userID),
            ("source", entry.source), ("id", "\(entry.id)"),
        ]
        for (name, value) in fields {
            guard let value, !value.isEmpty else { continue }
            rows.append([HTML.escape(name), "<code>\(HTML.truncated(value, maximumFieldLength))</code>"])
        }
        let extra = context.additionalFields.merging(entry.metadata) { first, _ in first }
        for key in extra.keys.sorted().prefix(maximumFields) {
            rows.append(["<code>\(HTML.truncated(key, 64))</code>", "<code>\(HTML.truncated(HTML.text(extra[key]), maximumFieldLength))</code>"])
        }
        if extra.count > maximumFields {
            rows.append(["", "<span class=\"muted\">\(extra.count - maximumFields) more fields (GET /api/v1/logs shows them all)</span>"])
        }
        html += "<table class=\"context\"><tbody>"
        for row in rows { html += "<tr><th scope=\"row\">\(row[0])</th><td>\(row[1])</td></tr>" }
        return html + "</tbody></table></details></li>\n"
    }
}
