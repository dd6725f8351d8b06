import Foundation
import Hummingbird
import StepflowCore

/// Reads the query parameters of the API, refusing bad ones with a message that names the parameter.
struct RequestParameters {
    let parameters: Parameters

    init(_ request: Request) {
        parameters = request.uri.queryParameters
    }

    func text(_ name: String) -> String? {
        parameters.get(name).flatMap { $0.isEmpty ? nil : $0 }
    }

    func all(_ name: String) -> [String] { parameters.getAll(name).filter { !$0.isEmpty } }

    /// A time: RFC 3339 (`2026-12-01T10:00:00Z`, fractions allowed) or Unix seconds (`1764583200.5`), as the
    /// Prometheus HTTP API takes them.
    func time(_ name: String) throws(MonitoringError) -> Date? {
        guard let text = text(name) else { return nil }
        switch Self.parseTime(text) {
        case .valid(let date): return date
        case .outOfRange:
            throw .invalidQuery("\(name): '\(text)' is outside \(ValidTime.rangeText)")
        case .unreadable:
            throw .invalidQuery(
                "\(name): expected RFC 3339 (2026-12-01T10:00:00Z) or Unix seconds, found '\(text)'")
        }
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(MonitoringError) -> Int {
        guard let text = text(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw .invalidQuery("\(name): expected an integer from \(range.lowerBound) to \(range.upperBound), found '\(text)'")
        }
        return value
    }

    /// What a time parameter holds.
    enum ParsedTime {
        case valid(Date)
        /// A number or RFC 3339 time outside ``ValidTime``.
        case outOfRange
        case unreadable
    }

    /// A time in Unix seconds or RFC 3339, checked against ``ValidTime``.
    static func parseTime(_ text: String) -> ParsedTime {
        if let seconds = Double(text) {
            return ValidTime.date(unixSeconds: seconds).map(ParsedTime.valid) ?? .outOfRange
        }
        guard let date = Date(rfc3339: text) else { return .unreadable }
        return ValidTime.contains(date) ? .valid(date) : .outOfRange
    }

    /// A time in JSON (Unix milliseconds as an integer, or a string as ``parseTime(_:)`` reads it), with a
    /// message naming `key` when it is not one.
    static func jsonTime(_ value: JSONValue?, key: String) -> Result<Date?, MonitoringError> {
        switch value {
        case nil, .null?: return .success(nil)
        case .int(let milliseconds)?:
            guard let date = ValidTime.date(unixMilliseconds: milliseconds) else {
                return .failure(.invalidQuery("\"\(key)\" (\(milliseconds) ms) is outside \(ValidTime.rangeText)"))
            }
            return .success(date)
        case .string(let text)?:
            switch parseTime(text) {
            case .valid(let date): return .success(date)
            case .outOfRange: return .failure(.invalidQuery("\"\(key)\" (\"\(text)\") is outside \(ValidTime.rangeText)"))
            case .unreadable:
                return .failure(.invalidQuery(
                    "\"\(key)\" must be Unix milliseconds or RFC 3339 (2026-12-01T10:00:00Z), found \"\(text)\""))
            }
        case let other?:
            return .failure(.invalidQuery(
                "\"\(key)\" must be Unix milliseconds or an RFC 3339 string, found \(MetricJSON.kind(of: other))"))
        }
    }

    /// The series filter of `GET /api/v1/metrics`: `match` (a selector), `name`, `prefix`, `regex`, `type`,
    /// `label` (repeated, `name=value`), `since`, `until`.
    func metricFilter() throws(MonitoringError) -> MetricFilter {
        var filter = MetricFilter()
        if let match = text("match") {
            let selector = try MetricSelector.parse(match)
            filter = MetricFilter(selector: selector)
        }
        if let name = text("name") { filter.name = name }
        if let prefix = text("prefix") { filter.namePrefix = prefix }
        if let regex = text("regex") { filter.nameRegex = try AnchoredRegex(regex, what: "regex") }
        if let typeText = text("type") {
            guard let type = MetricType(rawValue: typeText) else {
                throw .invalidQuery("type: expected counter, gauge, histogram or summary, found '\(typeText)'")
            }
            filter.type = type
        }
        for pair in all("label") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw .invalidQuery("label: expected name=value, found '\(pair)'", hint: "or use match={name=~\"…\"}")
            }
            filter.labels.append(Label(String(pair[..<equals]), String(pair[pair.index(after: equals)...])))
        }
        filter.since = try time("since")
        filter.until = try time("until")
        return try filter.validated()
    }
}
