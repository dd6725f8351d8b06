import Foundation
import StepflowCore
import StepflowTracing

/// `GET /dashboard/traces`: search stored traces by operation, minimum duration, status and time range.
/// `GET /dashboard/traces/{id}`: one trace as a span waterfall (``TraceWaterfall``), linked to its logs.
enum TracesPage {
    static let maximumResults = 50

    static func search(_ request: DashboardRequest) async throws(MonitoringError) -> String {
        let parameters = request.parameters
        let range = try DashboardTimeRange(parameters, now: request.now, defaultPreset: "24h")
        var query = TraceQuery(
            operation: parameters.text("operation"), since: range.start, until: range.end, limit: maximumResults)
        if let text = parameters.text("min_duration") { query.minimumDuration = try LogTraceRoutes.duration(text, "min_duration") }
        if let text = parameters.text("status") {
            guard let status = SpanStatus(rawValue: text) else {
                throw .invalidQuery("status: expected ok, error, timed_out or cancelled, found '\(text.prefix(64))'")
            }
            query.status = status
        }
        var body = "<form method=\"get\" action=\"/dashboard/traces\" class=\"filters\" aria-label=\"Trace search\">"
        body += HTML.input("operation", label: "Operation", value: query.operation)
        body += HTML.input("min_duration", label: "Minimum duration", value: parameters.text("min_duration"), placeholder: "250ms")
        body += HTML.select(
            "status", label: "Status",
            [("", "any"), ("ok", "ok"), ("error", "error"), ("timed_out", "timed out"), ("cancelled", "cancelled")],
            selected: parameters.text("status"))
        body += range.formFields + "<button type=\"submit\">Search</button></form>\n"
        guard let engine = request.sources.logTraceAPI?.traces else {
            return DashboardLayout.page(.traces, title: "Traces", body: body + "<p class=\"muted\">the trace store is not available</p>", now: request.now)
        }
        let traces = try await engine.queryTraces(query)
        body += HTML.table(
            ["trace", "root operation", "spans", "duration", "status", "started"],
            traces.map { trace in
                let root = trace.roots.first
                let failed = trace.spans.contains { $0.status == .error || $0.status == .timedOut }
                return ["<a href=\"/dashboard/traces/\(HTML.segment(trace.traceID.description))\"><code>\(HTML.escape(trace.traceID.description))</code></a>",
                        HTML.truncated(root?.name ?? "", 120), "<span class=\"num\">\(trace.spans.count)</span>",
                        "<span class=\"num\">\(HTML.escape(HTML.duration(seconds: trace.duration.inSeconds)))</span>",
                        HTML.badge(failed ? "error" : "ok"), HTML.time(trace.startTime)]
            }, empty: "no traces match")
        return DashboardLayout.page(.traces, title: "Traces", body: body, now: request.now)
    }

    static func trace(_ request: DashboardRequest, id text: String) async throws(MonitoringError) -> String {
        let id = try TraceID.parse(text)
        guard let engine = request.sources.logTraceAPI?.traces,
            let trace = try await engine.queryTraces(TraceQuery(traceID: id)).first
        else {
            throw MonitoringError(.traceNotFound, "no trace \(text) is stored", hint: "spans are stored when they end")
        }
        var body = "<p><span class=\"num\">\(trace.spans.count) spans · \(HTML.escape(HTML.duration(seconds: trace.duration.inSeconds)))"
        body += " · started \(HTML.time(trace.startTime))</span> · "
        body += "<a href=\"/dashboard/logs\(HTML.query([("trace_id", trace.traceID.description), ("range", "30d")]))\">logs of this trace</a> · "
        body += "<a href=\"/api/v1/traces/\(HTML.segment(trace.traceID.description))\">JSON</a></p>"
        body += TraceWaterfall(trace: trace).render()
        return DashboardLayout.page(.traces, title: "Trace \(trace.traceID.description)", body: body, now: request.now)
    }
}
