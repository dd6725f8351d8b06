import Foundation
import StepflowCore

/// A trace as a span waterfall: one row per span, parents before their children and siblings by start time
/// (``Trace/spans`` is in that order), indented by depth, with a bar from the span's start to its end on the
/// trace's time axis, coloured by status. Each row opens to the span's attributes and events.
struct TraceWaterfall {
    /// Rows drawn; a larger trace says how many were left out (the JSON API has them all).
    static let maximumSpans = 1000
    static let maximumAttributes = 30
    static let maximumEvents = 20
    static let maximumValueLength = 200
    /// Deeper spans are drawn at this indentation (their depth is still given).
    static let deepestIndent = 12

    let trace: Trace

    func render() -> String {
        let startMs = Double(trace.startTime.unixMilliseconds)
        let spanMs = max(1, Double(trace.endTime.unixMilliseconds) - startMs)
        let ids = Set(trace.spans.map(\.spanID))
        var depth: [SpanID: Int] = [:]
        var html = "<ol class=\"waterfall\" aria-label=\"Spans in start order, children under their parent\">"
        for span in trace.spans.prefix(Self.maximumSpans) {
            let level = span.parentSpanID.flatMap { ids.contains($0) ? depth[$0].map { $0 + 1 } : nil } ?? 0
            depth[span.spanID] = level
            let begin = (Double(span.startTime.unixMilliseconds) - startMs) / spanMs
            let finish = (Double((span.endTime ?? span.startTime).unixMilliseconds) - startMs) / spanMs
            let x = min(1000, max(0, begin * 1000))
            let width = min(1000 - x, max(2, (finish - begin) * 1000))
            let seconds = span.duration?.inSeconds ?? 0
            html += "<li class=\"span-row d\(min(level, Self.deepestIndent))\" data-span-id=\"\(HTML.escape(span.spanID.description))\""
            html += " data-parent-id=\"\(HTML.escape(span.parentSpanID?.description ?? ""))\" data-depth=\"\(level)\""
            html += " data-start=\"\(span.startTime.unixMilliseconds)\"><details><summary>"
            html += "<span class=\"span-name\">\(HTML.truncated(span.name, 120))</span>"
            html += "<svg class=\"bar\" viewBox=\"0 0 1000 12\" preserveAspectRatio=\"none\" aria-hidden=\"true\">"
            html += "<rect class=\"status-\(HTML.escape(span.status.rawValue))\" x=\"\(String(format: "%.1f", x))\" y=\"1\" width=\"\(String(format: "%.1f", width))\" height=\"10\"/></svg>"
            html += "<span class=\"num\">\(HTML.escape(HTML.duration(seconds: seconds)))</span> \(HTML.badge(span.status.rawValue))</summary>"
            html += details(span, offset: Double(span.startTime.unixMilliseconds) - startMs)
            html += "</details></li>\n"
        }
        html += "</ol>"
        if trace.spans.count > Self.maximumSpans {
            html += "<p class=\"muted\">\(trace.spans.count - Self.maximumSpans) more spans: GET /api/v1/traces/\(HTML.escape(trace.traceID.description)) has them all</p>"
        }
        return html
    }

    /// A span's ids, timing, attributes and events.
    private func details(_ span: Span, offset: Double) -> String {
        var rows: [(String, String)] = [
            ("span id", "<code>\(HTML.escape(span.spanID.description))</code>"),
            ("parent", span.parentSpanID.map { "<code>\(HTML.escape($0.description))</code>" } ?? "none (root)"),
            ("starts at", "+\(HTML.escape(HTML.duration(seconds: offset / 1000))) · \(HTML.time(span.startTime))"),
            ("logs", "<a href=\"/dashboard/logs\(HTML.query([("trace_id", span.traceID.description), ("range", "30d")]))\">logs of this trace</a>"),
        ]
        for key in span.metadata.keys.sorted().prefix(Self.maximumAttributes) {
            rows.append(("<code>\(HTML.truncated(key, 64))</code>", "<code>\(HTML.truncated(HTML.text(span.metadata[key]), Self.maximumValueLength))</code>"))
        }
        if span.metadata.count > Self.maximumAttributes {
            rows.append(("", "<span class=\"muted\">\(span.metadata.count - Self.maximumAttributes) more attributes</span>"))
        }
        var html = "<table class=\"context\"><tbody>"
        for (name, value) in rows { html += "<tr><th scope=\"row\">\(name)</th><td>\(value)</td></tr>" }
        html += "</tbody></table>"
        guard !span.events.isEmpty else { return html }
        html += "<table class=\"context events\"><caption>Events</caption><thead><tr><th scope=\"col\">at</th><th scope=\"col\">event</th><th scope=\"col\">attributes</th></tr></thead><tbody>"
        for event in span.events.prefix(Self.maximumEvents) {
            let attributes = event.attributes.keys.sorted().prefix(10).map { key in
                HTML.truncated(key, 64) + "=" + HTML.truncated(HTML.text(event.attributes[key]), Self.maximumValueLength)
            }.joined(separator: " ")
            let at = event.timestamp.timeIntervalSince(span.startTime)
            html += "<tr><td class=\"num\">+\(HTML.escape(HTML.duration(seconds: at)))</td><td>\(HTML.truncated(event.name, 120))</td><td><code>\(attributes)</code></td></tr>"
        }
        html += "</tbody></table>"
        if span.events.count > Self.maximumEvents {
            html += "<p class=\"muted\">\(span.events.count - Self.maximumEvents) more events</p>"
        }
        return html
    }
}
