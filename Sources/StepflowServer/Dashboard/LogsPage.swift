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
        let found: SearchResult
        if query.messageContains == nil {
            let page = try await engine.queryPage(query)
            found = SearchResult(entries: page.entries, next: page.nextCursor, searchedBackTo: nil)
        } else {
            found = try await search(engine, query, start: range.start, end: range.end)
        }
        if found.entries.isEmpty {
            body += "<p class=\"muted\">no log entries match\(found.searchedBackTo == nil ? "" : " yet")</p>"
        } else {
            body += "<ol class=\"logs\">"
            for entry in found.entries { body += item(entry) }
            body += "</ol>"
        }
        body += "<nav class=\"pager\" aria-label=\"Log pages\">"
        if parameters.text("searched") != nil {
            // A continued search keeps its first start; the newest entries are those up to now.
            let newest = filters.filter { !["start", "end", "range"].contains($0.0) } + [("start", range.start.rfc3339)]
            body += "<a href=\"/dashboard/logs\(HTML.query(newest))\">Newest entries</a> "
        } else if query.cursor != nil {
            body += "<a href=\"/dashboard/logs\(HTML.query(filters))\">Newest entries</a> "
        }
        if let next = found.next {
            body += "<a href=\"/dashboard/logs\(HTML.query(filters + [("cursor", next.description)]))\" rel=\"next\">Older entries</a>"
        }
        if let backTo = found.searchedBackTo {
            // The search goes on from where it stopped, over the same start.
            let older: [(String, String?)] = [
                ("level", parameters.text("level")), ("component", query.component), ("q", query.messageContains),
                ("trace_id", query.traceID), ("start", range.start.rfc3339), ("end", backTo.rfc3339), ("searched", "1"),
            ]
            body += "<p class=\"muted\" role=\"status\">Searched newest first back to \(HTML.preciseTime(backTo)) "
            body += "(the search scans messages, and stops after about \(searchBudgetMilliseconds) ms per page).</p>"
            body += "<a href=\"/dashboard/logs\(HTML.query(older))\" rel=\"next\">Search older entries</a>"
        }
        body += "</nav>"
        return DashboardLayout.page(.logs, title: "Logs", body: body, now: request.now)
    }

    /// How long one page's text search may scan before it stops and offers to go on (docs/dashboard.md).
    static let searchBudgetMilliseconds = 40

    /// What one page of a search found: the entries, where the next page starts, and, when the search stopped
    /// for time, the time it had searched back to.
    struct SearchResult {
        var entries: [LogEntry]
        var next: LogCursor?
        var searchedBackTo: Date?
    }

    /// A text search has no index to use (the store scans messages), so it runs newest first, one time window
    /// after another, until a page is full, the range is searched, or about ``searchBudgetMilliseconds`` are
    /// spent; each window is sized from the speed of the one before.
    static func search(
        _ engine: LogEngine, _ query: LogQuery, start: Date, end: Date, budgetMilliseconds: Int = searchBudgetMilliseconds
    ) async throws(MonitoringError) -> SearchResult {
        let clock = ContinuousClock()
        let began = clock.now
        let budget = Double(budgetMilliseconds) / 1000
        var entries: [LogEntry] = []
        var cursor = query.cursor
        var windowEnd = min(end, cursor.map { Date(unixMilliseconds: $0.timestamp) } ?? end)
        var width: TimeInterval = 60
        while windowEnd >= start {
            let windowStart = max(start, windowEnd.addingTimeInterval(-width))
            var window = query
            window.since = windowStart
            window.until = windowEnd
            window.cursor = cursor
            window.limit = pageSize - entries.count
            let windowBegan = clock.now
            let page = try await engine.queryPage(window)
            entries += page.entries
            cursor = nil
            let searchedAll = windowStart <= start
            let nextEnd = windowStart.addingTimeInterval(-0.001)
            if entries.count >= pageSize {
                if let next = page.nextCursor { return SearchResult(entries: entries, next: next, searchedBackTo: nil) }
                return SearchResult(entries: entries, next: nil, searchedBackTo: searchedAll ? nil : nextEnd)
            }
            if searchedAll { return SearchResult(entries: entries, next: nil, searchedBackTo: nil) }
            let spent = (clock.now - began).inSeconds
            if spent >= budget { return SearchResult(entries: entries, next: nil, searchedBackTo: nextEnd) }
            // Size the next window to what the rest of the budget scans at this window's speed (at most 4x).
            let perSecondOfRange = max(1e-9, (clock.now - windowBegan).inSeconds) / width
            width = max(1, min(width * 4, (budget - spent) * 0.8 / perSecondOfRange))
            windowEnd = nextEnd
        }
        return SearchResult(entries: entries, next: nil, searchedBackTo: nil)
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
