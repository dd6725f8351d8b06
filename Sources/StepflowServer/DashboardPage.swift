import Foundation
import StepflowCore

/// `GET /dashboard`: one HTML page, rendered on the server from what the API serves, so it needs no JavaScript and
/// no build step: overall health and each component, every plugin with its state and last error, the open alerts,
/// and the metric families with their series counts. It reloads itself every 15 seconds.
enum DashboardPage {
    /// What the page shows.
    struct Content {
        var health: SystemHealth
        var plugins: JSONValue
        var alerts: [Alert]
        var series: [MetricInfo]
        var now: Date
    }

    static func render(_ content: Content) -> String {
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="15">
            <link rel="icon" href="data:,">
            <title>stepflow-monitor: \(escape(content.health.status.rawValue))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;background:#fafafa}
            h1{font-size:1.3rem;margin:0 0 .2rem}h2{font-size:1.05rem;margin:1.6rem 0 .4rem}
            table{border-collapse:collapse;width:100%;background:#fff}
            th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #e4e4e4;vertical-align:top}
            th{background:#f0f0f0;font-weight:600}.num{font-variant-numeric:tabular-nums}
            .healthy,.ok{color:#17803d}.degraded,.pending,.warning{color:#a86400}
            .unhealthy,.failing,.firing,.critical,.refused,.stuck{color:#c0262d;font-weight:600}
            .muted{color:#777}code{font-size:12px}
            </style></head><body>
            <h1>stepflow-monitor <span class="\(escape(content.health.status.rawValue))">\(escape(content.health.status.rawValue))</span></h1>
            <div class="muted">\(escape(content.now.rfc3339Seconds)) · refreshes every 15 s ·
            <a href="/metrics">/metrics</a> · <a href="/health">/health</a> · <a href="/api/v1/alerts">/api/v1/alerts</a></div>

            """
        html += section("Health", headers: ["component", "status", "message", "checked"],
                        rows: content.health.components.map { component in
            [escape(component.component), badge(component.status.rawValue), escape(component.message),
             escape(component.lastCheck.rfc3339Seconds)]
        }, empty: "no health checks have run yet")
        html += section("Plugins", headers: ["name", "isolation", "interval", "state", "runs", "failures", "cpu", "memory", "last error"],
                        rows: plugins(content.plugins), empty: "no plugins are configured")
        // Most urgent first (AlertSeverity orders debug < info < warning < critical), then the oldest.
        let alerts = content.alerts.sorted {
            $0.severity != $1.severity ? $0.severity > $1.severity : $0.activeSince < $1.activeSince
        }
        html += section("Open alerts", headers: ["alert", "status", "severity", "since", "value", "labels", "summary"],
                        rows: alerts.map { alert in
            [escape(alert.name), badge(alert.status.rawValue) + (alert.isSilenced ? " <span class=\"muted\">silenced</span>" : ""),
             badge(alert.severity.rawValue), escape(alert.activeSince.rfc3339Seconds),
             "<span class=\"num\">" + escape(alert.value.map(\.description) ?? "") + "</span>",
             "<code>" + escape(alert.labels.map { "\($0.name)=\($0.value)" }.joined(separator: " ")) + "</code>",
             escape(alert.annotations["summary"] ?? alert.description)]
        }, empty: "no open alerts")
        var families: [String: (type: MetricType, series: Int, updated: Date)] = [:]
        for info in content.series {
            let known = families[info.name]
            families[info.name] = (info.type, (known?.series ?? 0) + 1, max(known?.updated ?? .distantPast, info.lastUpdated))
        }
        html += section("Metrics: \(content.series.count) series in \(families.count) families",
                        headers: ["family", "type", "series", "last updated"],
                        rows: families.keys.sorted().map { name in
            let family = families[name]!
            return ["<code>" + escape(name) + "</code>", escape(family.type.rawValue),
                    "<span class=\"num\">\(family.series)</span>", escape(family.updated.rfc3339Seconds)]
        }, empty: "no series yet")
        return html + "</body></html>\n"
    }

    private static func plugins(_ report: JSONValue) -> [[String]] {
        guard case .object(let object) = report, case .array(let items)? = object["plugins"] else { return [] }
        return items.compactMap { item -> [String]? in
            guard case .object(let plugin) = item else { return nil }
            func text(_ key: String) -> String {
                switch plugin[key] {
                case .string(let value)?: value
                case .int(let value)?: String(value)
                case .double(let value)?: value.prometheusText + " s"
                default: ""
                }
            }
            var cpu = ""
            if case .double(let seconds)? = plugin["cpu_seconds"] { cpu = String(format: "%.3f s", seconds) }
            var memory = ""
            if case .int(let bytes)? = plugin["memory_bytes"] { memory = String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
            return [escape(text("name")), escape(text("isolation")), escape(text("interval_seconds")),
                    badge(text("state")), escape(text("runs")), escape(text("failures")),
                    "<span class=\"num\">" + escape(cpu) + "</span>", "<span class=\"num\">" + escape(memory) + "</span>",
                    escape(text("last_error"))]
        }
    }

    private static func section(_ title: String, headers: [String], rows: [[String]], empty: String) -> String {
        var html = "<h2>\(escape(title))</h2>\n"
        guard !rows.isEmpty else { return html + "<p class=\"muted\">\(escape(empty))</p>\n" }
        html += "<table><tr>" + headers.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows { html += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>\n" }
        return html + "</table>\n"
    }

    private static func badge(_ text: String) -> String { "<span class=\"\(escape(text))\">\(escape(text))</span>" }

    /// `text` safe inside HTML text and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
