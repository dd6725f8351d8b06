import Foundation
import StepflowCore

/// The dashboard's HTML helpers. Every value that comes from data (a label value, a log message, an annotation, a
/// span attribute) reaches a page through ``escape(_:)`` or ``query(_:)``; links are only ever built from the
/// dashboard's own paths, so no stored value can become a `javascript:` URL.
enum HTML {
    /// `text` safe inside HTML text and quoted attribute values.
    static func escape(_ text: some StringProtocol) -> String {
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

    /// At most `limit` characters of `text`, escaped, with an ellipsis and the number left out when it was cut.
    static func truncated(_ text: String, _ limit: Int) -> String {
        guard text.count > limit else { return escape(text) }
        return escape(text.prefix(limit)) + "… <span class=\"muted\">(\(text.count - limit) more characters)</span>"
    }

    private static let unreserved = CharacterSet(charactersIn:
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// `?name=value&…` of the pairs with a value, percent-encoded and then escaped for an attribute.
    static func query(_ pairs: [(String, String?)]) -> String {
        escape(rawQuery(pairs))
    }

    /// `?name=value&…` of the pairs with a value, percent-encoded (for a `Location` header).
    static func rawQuery(_ pairs: [(String, String?)]) -> String {
        let items = pairs.compactMap { name, value -> String? in
            guard let value, !value.isEmpty else { return nil }
            return name + "=" + (value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")
        }
        return items.isEmpty ? "" : "?" + items.joined(separator: "&")
    }

    /// A path segment (an id) percent-encoded.
    static func segment(_ text: String) -> String {
        escape(text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")
    }

    /// `2026-12-05 10:04:31`, in UTC.
    static func time(_ date: Date) -> String {
        escape(date.rfc3339Seconds.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: ""))
    }

    /// `2026-12-05 10:04:31.250`, in UTC: a log entry's time, where entries of one second are told apart.
    static func preciseTime(_ date: Date) -> String {
        escape(date.rfc3339.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: ""))
    }

    /// A duration for people: `850 µs`, `12.3 ms`, `4.20 s`, `3 m 12 s`, `2 h 5 m`.
    static func duration(seconds: Double) -> String {
        guard seconds.isFinite else { return "–" }
        switch abs(seconds) {
        case ..<0.001: return String(format: "%.0f µs", seconds * 1_000_000)
        case ..<1: return String(format: "%.1f ms", seconds * 1000)
        case ..<60: return String(format: "%.2f s", seconds)
        case ..<3600: return String(format: "%.0f m %.0f s", (seconds / 60).rounded(.down), seconds.truncatingRemainder(dividingBy: 60))
        default: return String(format: "%.0f h %.0f m", (seconds / 3600).rounded(.down), (seconds.truncatingRemainder(dividingBy: 3600) / 60).rounded(.down))
        }
    }

    /// A number for a table or an axis: at most 4 significant digits, SI suffixes past a thousand.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf") }
        let magnitude = abs(value)
        for (scale, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where magnitude >= scale {
            return String(format: "%.4g", value / scale) + suffix
        }
        return String(format: "%.4g", value)
    }

    /// Bytes for people: `512 B`, `3.4 MiB`.
    static func bytes(_ value: Double) -> String {
        guard value.isFinite, value >= 1024 else { return value.isFinite ? String(format: "%.0f B", value) : "–" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var scaled = value / 1024
        var unit = 0
        while scaled >= 1024, unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return String(format: "%.1f ", scaled) + units[unit]
    }

    /// A field's or attribute's value as text (not escaped): a string as it is, anything else as JSON.
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: text
        case let other?: other.jsonText
        case nil: ""
        }
    }

    /// `labels` as `{name="value", …}`, escaped.
    static func labels(_ labels: [Label]) -> String {
        escape(labelText(labels))
    }

    /// `labels` as `{name="value", …}` in selector syntax (values quoted as the selector parser reads them back),
    /// not escaped for HTML (for a selector or a form's value, which escape it later).
    static func labelText(_ labels: [Label]) -> String {
        "{" + labels.map { "\($0.name)=\(MetricSelector.quote($0.value))" }.joined(separator: ", ") + "}"
    }

    /// A status word with the class that colours it.
    static func badge(_ text: String) -> String {
        "<span class=\"badge \(escape(text))\">\(escape(text))</span>"
    }

    /// A table of `rows` (each cell already HTML) under `headers`, or `empty` when there are none.
    static func table(_ headers: [String], _ rows: [[String]], empty: String) -> String {
        guard !rows.isEmpty else { return "<p class=\"muted\">\(escape(empty))</p>\n" }
        var html = "<div class=\"scroll\"><table>"
        html += "<thead><tr>" + headers.map { "<th scope=\"col\">\(escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for row in rows { html += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>\n" }
        return html + "</tbody></table></div>\n"
    }

    /// A labelled `<select>` with `options` (value, text), `selected` chosen.
    static func select(_ name: String, label: String, _ options: [(String, String)], selected: String?) -> String {
        var html = "<label>\(escape(label)) <select name=\"\(escape(name))\">"
        for (value, text) in options {
            html += "<option value=\"\(escape(value))\"\(value == (selected ?? "") ? " selected" : "")>\(escape(text))</option>"
        }
        return html + "</select></label>"
    }

    /// A labelled text input.
    static func input(
        _ name: String, label: String, value: String?, type: String = "text", placeholder: String? = nil,
        list: String? = nil, size: Int? = nil
    ) -> String {
        var html = "<label>\(escape(label)) <input type=\"\(type)\" name=\"\(escape(name))\" value=\"\(escape(value ?? ""))\""
        if let placeholder { html += " placeholder=\"\(escape(placeholder))\"" }
        if let list { html += " list=\"\(escape(list))\" autocomplete=\"off\"" }
        if let size { html += " size=\"\(size)\"" }
        return html + "></label>"
    }
}
