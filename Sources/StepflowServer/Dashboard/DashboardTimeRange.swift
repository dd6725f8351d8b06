import Foundation
import StepflowCore

/// The time range a page shows: one of the presets (`range=1h`, the default) or an absolute `start` and `end`
/// (RFC 3339, Unix seconds, or what a `datetime-local` input sends, read as UTC).
struct DashboardTimeRange {
    /// The presets, shortest first: the `range` parameter's values.
    static let presets: [(name: String, seconds: Double)] = [
        ("15m", 900), ("1h", 3600), ("6h", 21_600), ("24h", 86_400), ("7d", 604_800), ("30d", 2_592_000),
    ]

    var start: Date
    var end: Date
    /// The preset, when the range is one (`nil` for an absolute range).
    var preset: String?

    var seconds: Double { end.timeIntervalSince(start) }

    /// Reads `range`, or `start` and `end`, from the query; a bad value throws naming it.
    init(_ parameters: RequestParameters, now: Date, defaultPreset: String = "1h") throws(MonitoringError) {
        let startText = parameters.text("start")
        let endText = parameters.text("end")
        if startText != nil || endText != nil {
            let end = try endText.map { text throws(MonitoringError) in try Self.time(text, "end") } ?? now
            let start = try startText.map { text throws(MonitoringError) in try Self.time(text, "start") }
                ?? end.addingTimeInterval(-3600)
            guard start < end else {
                throw .invalidQuery("the time range is empty or inverted: start is not before end", hint: "swap start and end")
            }
            guard end.timeIntervalSince(start) <= 366 * 86_400 else {
                throw .invalidQuery("the time range is longer than a year", hint: "pick a shorter range")
            }
            self.start = start
            self.end = end
            preset = nil
            return
        }
        let name = parameters.text("range") ?? defaultPreset
        guard let preset = Self.presets.first(where: { $0.name == name }) else {
            throw .invalidQuery(
                "range: expected one of " + Self.presets.map(\.name).joined(separator: ", ") + ", found '\(name.prefix(64))'")
        }
        start = now.addingTimeInterval(-preset.seconds)
        end = now
        self.preset = preset.name
    }

    /// A time as RFC 3339, Unix seconds or `YYYY-MM-DDTHH:MM[:SS]` (a `datetime-local` input, in UTC).
    static func time(_ text: String, _ name: String) throws(MonitoringError) -> Date {
        switch RequestParameters.parseTime(text) {
        case .valid(let date): return date
        case .outOfRange: throw .invalidQuery("\(name): '\(text.prefix(64))' is outside \(ValidTime.rangeText)")
        case .unreadable: break
        }
        let local = text.count == 16 ? text + ":00Z" : text + "Z"
        if text.count <= 19, let date = Date(rfc3339: local), ValidTime.contains(date) { return date }
        throw .invalidQuery(
            "\(name): expected a time such as 2026-12-01T10:00 (UTC), RFC 3339 or Unix seconds, found '\(text.prefix(64))'")
    }

    /// The query parameters that reproduce this range.
    var queryPairs: [(String, String?)] {
        if let preset { return [("range", preset)] }
        return [("start", start.rfc3339Seconds), ("end", end.rfc3339Seconds)]
    }

    /// The range's inputs for a filter form: the preset select and the absolute start and end.
    var formFields: String {
        var options = Self.presets.map { ($0.name, "last \($0.name)") }
        options.append(("", "absolute (start, end)"))
        let local: (Date) -> String = { String($0.rfc3339Seconds.prefix(16)) }
        return HTML.select("range", label: "Range", options, selected: preset ?? "")
            + HTML.input("start", label: "Start (UTC)", value: preset == nil ? local(start) : nil, type: "datetime-local")
            + HTML.input("end", label: "End (UTC)", value: preset == nil ? local(end) : nil, type: "datetime-local")
    }
}
