import Foundation
import StepflowAlerting
import StepflowCore

/// `GET /dashboard`: the host at a glance — health and each component, storage size and write-queue depths,
/// the plugins, the open alerts by severity, and the ingest and export rates over the last five minutes (from
/// the host's own telemetry, which it stores like any other series). It reloads itself every 30 seconds.
enum OverviewPage {
    /// The window rates are taken over, in seconds (of the stored self-telemetry).
    static let rateWindow = 300

    static func render(_ request: DashboardRequest) async -> String {
        let sources = request.sources
        let health = await sources.health()
        let telemetry = await sources.telemetry()
        func gauge(_ name: String) -> Double? {
            let values = telemetry.filter { $0.name == name }.map { SeriesChart.value($0.value) }
            return values.isEmpty ? nil : values.reduce(0, +)
        }
        var body = "<section aria-labelledby=\"health\"><h2 id=\"health\">Health: \(HTML.badge(health.status.rawValue))</h2>"
        body += HTML.table(
            ["component", "status", "message", "checked"],
            health.components.map { component in
                [HTML.escape(component.component), HTML.badge(component.status.rawValue), HTML.truncated(component.message, 300),
                 HTML.time(component.lastCheck)]
            }, empty: "no health checks have run yet")
        body += "</section>"

        body += "<section aria-labelledby=\"storage\"><h2 id=\"storage\">Storage and queues</h2><dl class=\"facts\">"
        let facts: [(String, String)] = [
            ("database size", gauge("stepflow_storage_bytes").map(HTML.bytes) ?? "–"),
            ("samples waiting to be written", gauge("stepflow_metrics_queue_depth").map(HTML.number) ?? "–"),
            ("log entries waiting to be written", gauge("stepflow_logs_queue_depth").map(HTML.number) ?? "–"),
            ("series in memory", gauge("stepflow_metrics_series").map(HTML.number) ?? "–"),
            ("open spans", gauge("stepflow_traces_open_spans").map(HTML.number) ?? "–"),
        ]
        for (name, value) in facts { body += "<div><dt>\(HTML.escape(name))</dt><dd class=\"num\">\(HTML.escape(value))</dd></div>" }
        body += "</dl></section>"

        body += "<section aria-labelledby=\"rates\"><h2 id=\"rates\">Ingest and export</h2>"
        // Totals from the live counters (there from the first request on); rates from the stored self-telemetry.
        var rows: [[String]] = []
        for (direction, name, labels) in [
            ("ingest", "stepflow_ingest_items_total", ["path", "outcome"]), ("export", "stepflow_export_sent_total", ["exporter"]),
        ] {
            var totals: [String: Double] = [:]
            for info in telemetry where info.name == name {
                totals[group(info.labels, labels), default: 0] += SeriesChart.value(info.value)
            }
            var perSecond: [String: Double] = [:]
            if let evaluator = await sources.alertAPI?.engine.evaluator {
                for rate in await rates(evaluator, name, by: labels, now: request.now) {
                    perSecond[rate.group] = rate.perSecond
                }
            }
            for key in Set(totals.keys).union(perSecond.keys).sorted() where (totals[key] ?? 0) > 0 || perSecond[key] != nil {
                rows.append([
                    direction, "<code>\(HTML.escape(key))</code>",
                    "<span class=\"num\">\(HTML.escape(totals[key].map(HTML.number) ?? "–"))</span>",
                    "<span class=\"num\">\(HTML.escape(perSecond[key].map { HTML.number($0) + "/s" } ?? "–"))</span>",
                ])
            }
        }
        body += HTML.table(["direction", "path and outcome, or exporter", "since start", "rate, last 5 min"], rows,
                           empty: "nothing ingested or exported yet")
        body += "</section>"

        body += "<section aria-labelledby=\"plugins\"><h2 id=\"plugins\">Plugins</h2>"
        body += HTML.table(
            ["name", "isolation", "interval", "state", "runs", "failures", "cpu", "memory", "last error"],
            plugins(await sources.plugins()), empty: "no plugins are configured")
        body += "</section>"

        body += "<section aria-labelledby=\"alerts\"><h2 id=\"alerts\">Open alerts</h2>"
        let alerts = (try? await sources.alertAPI?.engine.getActiveAlerts(filter: nil)) ?? []
        var bySeverity: [AlertSeverity: (firing: Int, pending: Int, acknowledged: Int, silenced: Int)] = [:]
        for alert in alerts {
            var counts = bySeverity[alert.severity] ?? (0, 0, 0, 0)
            switch alert.status {
            case .firing: counts.firing += 1
            case .pending: counts.pending += 1
            case .acknowledged: counts.acknowledged += 1
            case .silenced: counts.silenced += 1
            case .resolved: break
            }
            if alert.isSilenced, alert.status != .silenced { counts.silenced += 1 }
            bySeverity[alert.severity] = counts
        }
        let severities = AlertSeverity.allCases.sorted(by: >)
        body += HTML.table(
            ["severity", "firing", "pending", "acknowledged", "silenced"],
            severities.compactMap { severity in
                guard let counts = bySeverity[severity] else { return nil }
                let link = "<a href=\"/dashboard/alerts\(HTML.query([("severity", severity.rawValue)]))\">\(HTML.badge(severity.rawValue))</a>"
                return [link, "\(counts.firing)", "\(counts.pending)", "\(counts.acknowledged)", "\(counts.silenced)"]
            }, empty: "no open alerts")
        body += "</section>"
        return DashboardLayout.page(.overview, title: "Overview", body: body, now: request.now, refreshSeconds: 30)
    }

    /// `sum by (<labels>) (rate(<name>[5m]))` over the stored self-telemetry, per group of `labels`: the alert
    /// query language's `rate` (Prometheus' extrapolated rate, counter resets included). No stored points in the
    /// window (a host started moments ago) give no rate.
    static func rates(
        _ evaluator: AlertQueryEvaluator, _ name: String, by labels: [String], now: Date
    ) async -> [(group: String, perSecond: Double)] {
        let text = "sum by (\(labels.joined(separator: ", "))) (rate(\(name)[\(rateWindow)s]))"
        guard let query = try? AlertQuery.parse(text), let series = try? await evaluator.evaluate(query, at: now) else {
            return []
        }
        return series.compactMap { item in
            guard case .number(let perSecond) = item.value, perSecond.isFinite else { return nil }
            return (group(item.labels, labels), perSecond)
        }
    }

    /// The values of `names` in `labels`, joined by spaces: a row of the ingest and export table.
    static func group(_ labels: [Label], _ names: [String]) -> String {
        names.map { name in labels.first { $0.name == name }?.value ?? "" }.joined(separator: " ")
    }

    /// The rows of the plugins table, from the body of `GET /api/v1/plugins`.
    static func plugins(_ report: JSONValue) -> [[String]] {
        guard case .object(let object) = report, case .array(let items)? = object["plugins"] else { return [] }
        return items.compactMap { item -> [String]? in
            guard case .object(let plugin) = item else { return nil }
            func text(_ key: String) -> String {
                switch plugin[key] {
                case .string(let value)?: value
                case .int(let value)?: String(value)
                case .double(let value)?: HTML.duration(seconds: value)
                default: ""
                }
            }
            var cpu = ""
            if case .double(let seconds)? = plugin["cpu_seconds"] { cpu = String(format: "%.3f s", seconds) }
            var memory = ""
            if case .int(let bytes)? = plugin["memory_bytes"] { memory = HTML.bytes(Double(bytes)) }
            return [HTML.escape(text("name")), HTML.escape(text("isolation")), HTML.escape(text("interval_seconds")),
                    HTML.badge(text("state")), HTML.escape(text("runs")), HTML.escape(text("failures")),
                    "<span class=\"num\">" + HTML.escape(cpu) + "</span>", "<span class=\"num\">" + HTML.escape(memory) + "</span>",
                    HTML.truncated(text("last_error"), 300)]
        }
    }
}
