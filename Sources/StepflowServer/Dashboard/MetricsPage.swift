import Foundation
import StepflowCore
import StepflowMetrics
import StepflowStorage

/// `GET /dashboard/metrics?q=<selector>&q=…&range=1h`: a chart per selector (Prometheus selector syntax, names
/// suggested from the known families as you type), over a preset or absolute time range. The whole state is in
/// the URL, so the charts survive a reload and can be shared. Without a selector, the page lists the families.
enum MetricsPage {
    static let maximumCharts = 6
    static let maximumSeriesPerChart = 20
    /// Stored points read for one chart (raw or aggregated, as the store holds them); the chart thins them.
    static let maximumPointsRead = 60_000
    /// Family names offered as suggestions.
    static let maximumSuggestions = 1000
    static let maximumFamiliesListed = 500

    static func render(_ request: DashboardRequest) async throws(MonitoringError) -> String {
        let parameters = request.parameters
        let range = try DashboardTimeRange(parameters, now: request.now)
        let selectors = Array(parameters.all("q").prefix(maximumCharts))
        let known = await request.sources.metrics()
        var families: [String: (type: MetricType, series: Int)] = [:]
        for info in known { families[info.name, default: (info.type, 0)].series += 1 }
        let names = families.keys.sorted()

        var body = "<form method=\"get\" action=\"/dashboard/metrics\" class=\"filters\" aria-label=\"Charts\">"
        body += "<datalist id=\"metric-names\">"
        for name in names.prefix(maximumSuggestions) { body += "<option value=\"\(HTML.escape(name))\">" }
        body += "</datalist>"
        for (index, selector) in selectors.enumerated() {
            body += HTML.input("q", label: "Chart \(index + 1)", value: selector, list: "metric-names", size: 48)
        }
        if selectors.count < maximumCharts {
            body += HTML.input(
                "q", label: selectors.isEmpty ? "Selector" : "Add a chart", value: nil,
                placeholder: "node_load1{instance=\"a\"}", list: "metric-names", size: 48)
        }
        body += range.formFields + "<button type=\"submit\">Show</button></form>\n"

        guard let store = request.sources.metricsAPI?.store else {
            return DashboardLayout.page(.metrics, title: "Metrics", body: body + "<p class=\"muted\">the metrics store is not available</p>", now: request.now)
        }
        for (index, text) in selectors.enumerated() {
            let others = selectors.enumerated().filter { $0.offset != index }.map { ("q", Optional($0.element)) }
            let remove = "<a href=\"/dashboard/metrics\(HTML.query(others + range.queryPairs))\">remove</a>"
            body += "<section class=\"chart-box\" aria-label=\"Chart \(index + 1)\"><h2><code>\(HTML.escape(text))</code> <span class=\"small\">\(remove)</span></h2>"
            body += await chart(text, store: store, range: range)
            body += "</section>\n"
        }
        if selectors.isEmpty {
            body += "<h2>\(families.count) families, \(known.count) series</h2>"
            body += HTML.table(
                ["family", "type", "series"],
                names.prefix(maximumFamiliesListed).map { name in
                    let family = families[name] ?? (.gauge, 0)
                    return ["<a href=\"/dashboard/metrics\(HTML.query([("q", name)] + range.queryPairs))\"><code>\(HTML.escape(name))</code></a>",
                            HTML.escape(family.type.rawValue), "<span class=\"num\">\(family.series)</span>"]
                }, empty: "no series yet")
            if names.count > maximumFamiliesListed {
                body += "<p class=\"muted\">\(names.count - maximumFamiliesListed) more families: type a name in the selector box</p>"
            }
        }
        return DashboardLayout.page(.metrics, title: "Metrics", body: body, now: request.now)
    }

    /// The chart of one selector, or a note saying why there is none.
    static func chart(_ text: String, store: MetricStore, range: DashboardTimeRange) async -> String {
        let selector: MetricSelector
        do throws(MonitoringError) {
            selector = try MetricSelector.parse(text)
        } catch {
            return "<p class=\"problem\" role=\"alert\">\(HTML.escape(error.message))</p>"
        }
        guard let name = selector.name else {
            return "<p class=\"problem\" role=\"alert\">the selector must start with a metric name, e.g. node_load1{instance=\"a\"}</p>"
        }
        let matchers = selector.matchers
        let found: [StoredSeries]
        do throws(MonitoringError) {
            found = try await store.series(
                named: name, from: range.start.unixMilliseconds, to: range.end.unixMilliseconds, selection: .auto,
                limit: maximumPointsRead, matches: { labels in matchers.allSatisfy { $0.matches(labels) } })
        } catch {
            return "<p class=\"problem\" role=\"alert\">\(HTML.escape(error.message))</p>"
        }
        guard !found.isEmpty else {
            return "<p class=\"muted\">no stored points match in this range</p>"
        }
        let sorted = found.sorted { HTML.labelText($0.labels) < HTML.labelText($1.labels) }
        let shown = Array(sorted.prefix(maximumSeriesPerChart))
        let chart = SeriesChart(title: text, series: shown, start: range.start, end: range.end)
        var html = chart.render() + chart.legend()
        if sorted.count > shown.count {
            html += "<p class=\"muted\">showing \(shown.count) of \(sorted.count) series: narrow the selector with label matchers</p>"
        }
        let points = found.reduce(0) { $0 + $1.points.count }
        if points >= maximumPointsRead {
            html += "<p class=\"muted\">the range holds more than \(maximumPointsRead) points; the chart shows the oldest of them: shorten the range</p>"
        }
        return html
    }
}
