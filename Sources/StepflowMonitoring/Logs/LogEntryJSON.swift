import Foundation
import StepflowCore

/// How a log entry is written as JSON: by the HTTP API, exports, the file exporter.
///
/// `{"id", "timestamp" (RFC 3339, milliseconds), "level", "message", "source", "component", "module", "function",
/// "line", "trace_id", "span_id", "request_id", "user_id", "fields" (the context's additional fields), "metadata"}`;
/// keys with no value are left out.
public enum LogEntryJSON {
    public static func object(_ entry: LogEntry) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(entry.id.rawValue), "timestamp": .string(timestamp(entry.timestamp)),
            "level": .string(entry.level.rawValue), "message": .string(entry.message), "source": .string(entry.source),
            "component": .string(entry.context.component),
        ]
        let context = entry.context
        let optional: [(String, String?)] = [
            ("module", context.module), ("function", context.function), ("trace_id", context.traceID),
            ("span_id", context.spanID), ("request_id", context.requestID), ("user_id", context.userID),
        ]
        for (key, value) in optional {
            if let value, !value.isEmpty { object[key] = .string(value) }
        }
        if let line = context.line { object["line"] = .int(Int64(line)) }
        if !context.additionalFields.isEmpty { object["fields"] = .object(context.additionalFields) }
        if !entry.metadata.isEmpty { object["metadata"] = .object(entry.metadata) }
        return .object(object)
    }

    public static func text(_ entry: LogEntry) -> String { object(entry).jsonText }

    static func timestamp(_ date: Date) -> String {
        date.rfc3339
    }
}

/// Writes entries in an ``ExportFormat``, page by page: ``header()``, then ``encode(_:)`` for each page, then
/// ``footer()``.
public struct LogExportEncoder: Sendable {
    public let format: ExportFormat
    private var wroteAny = false

    public init(format: ExportFormat) {
        self.format = format
    }

    /// The CSV columns, in order.
    public static let csvColumns = [
        "id", "timestamp", "level", "source", "component", "module", "function", "line", "trace_id", "span_id",
        "request_id", "user_id", "message", "fields", "metadata",
    ]

    public func header() -> [UInt8] {
        switch format {
        case .json: return Array("[".utf8)
        case .ndjson: return []
        case .csv: return Array((Self.csvColumns.joined(separator: ",") + "\r\n").utf8)
        }
    }

    public mutating func encode(_ entries: [LogEntry]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * 256)
        for entry in entries {
            switch format {
            case .json:
                if wroteAny { out.append(0x2C) }
                out.append(0x0A)
                out.append(contentsOf: LogEntryJSON.text(entry).utf8)
            case .ndjson:
                out.append(contentsOf: LogEntryJSON.text(entry).utf8)
                out.append(0x0A)
            case .csv:
                out.append(contentsOf: Self.csvLine(entry).utf8)
            }
            wroteAny = true
        }
        return out
    }

    public func footer() -> [UInt8] {
        switch format {
        case .json: return Array((wroteAny ? "\n]\n" : "]\n").utf8)
        case .ndjson, .csv: return []
        }
    }

    /// One RFC 4180 record, ending in CRLF.
    static func csvLine(_ entry: LogEntry) -> String {
        let context = entry.context
        let fields: [String] = [
            entry.id.rawValue, LogEntryJSON.timestamp(entry.timestamp), entry.level.rawValue, entry.source,
            context.component, context.module, context.function, context.line.map(String.init) ?? "",
            context.traceID ?? "", context.spanID ?? "", context.requestID ?? "", context.userID ?? "", entry.message,
            context.additionalFields.isEmpty ? "" : JSONValue.object(context.additionalFields).jsonText,
            entry.metadata.isEmpty ? "" : JSONValue.object(entry.metadata).jsonText,
        ]
        return fields.map(csvField).joined(separator: ",") + "\r\n"
    }

    /// A field quoted when it holds a comma, a quote, CR or LF, with quotes doubled (RFC 4180).
    static func csvField(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
