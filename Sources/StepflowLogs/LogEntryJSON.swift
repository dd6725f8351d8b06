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

    public static func text(_ entry: LogEntry) -> String {
        var out: [UInt8] = []
        write(entry, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``object(_:)``'s JSON text (the same keys, in the same sorted order) to `out`, without building the
    /// object: what exports and the file exporter write, a million entries at a time.
    public static func write(_ entry: LogEntry, to out: inout [UInt8]) {
        let context = entry.context
        var object = ObjectWriter()
        out.append(UInt8(ascii: "{"))
        object.string("component", context.component, to: &out)
        if !context.additionalFields.isEmpty { object.value("fields", .object(context.additionalFields), to: &out) }
        object.optional("function", context.function, to: &out)
        object.string("id", entry.id.rawValue, to: &out)
        object.string("level", entry.level.rawValue, to: &out)
        if let line = context.line { object.raw("line", String(line), to: &out) }
        object.string("message", entry.message, to: &out)
        if !entry.metadata.isEmpty { object.value("metadata", .object(entry.metadata), to: &out) }
        object.optional("module", context.module, to: &out)
        object.optional("request_id", context.requestID, to: &out)
        object.string("source", entry.source, to: &out)
        object.optional("span_id", context.spanID, to: &out)
        object.string("timestamp", timestamp(entry.timestamp), to: &out)
        object.optional("trace_id", context.traceID, to: &out)
        object.optional("user_id", context.userID, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// Writes one JSON object's members, in the order given, into the caller's buffer.
    private struct ObjectWriter {
        var first = true

        mutating func key(_ name: StaticString, to out: inout [UInt8]) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }

        mutating func string(_ name: StaticString, _ value: String, to out: inout [UInt8]) {
            key(name, to: &out)
            JSONValue.writeQuoted(value, to: &out)
        }

        /// Written only when present and not empty, as ``LogEntryJSON/object(_:)`` leaves such keys out.
        mutating func optional(_ name: StaticString, _ value: String?, to out: inout [UInt8]) {
            if let value, !value.isEmpty { string(name, value, to: &out) }
        }

        mutating func raw(_ name: StaticString, _ text: String, to out: inout [UInt8]) {
            key(name, to: &out)
            out.append(contentsOf: text.utf8)
        }

        mutating func value(_ name: StaticString, _ value: JSONValue, to out: inout [UInt8]) {
            key(name, to: &out)
            value.write(to: &out)
        }
    }

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
                LogEntryJSON.write(entry, to: &out)
            case .ndjson:
                LogEntryJSON.write(entry, to: &out)
                out.append(0x0A)
            case .csv:
                Self.writeCSVLine(entry, to: &out)
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

    /// Appends one RFC 4180 record, ending in CRLF, to `out`.
    static func writeCSVLine(_ entry: LogEntry, to out: inout [UInt8]) {
        let context = entry.context
        var json: [UInt8] = []
        func jsonField(_ members: [String: JSONValue]) -> String {
            guard !members.isEmpty else { return "" }
            json.removeAll(keepingCapacity: true)
            JSONValue.object(members).write(to: &json)
            return String(decoding: json, as: UTF8.self)
        }
        let fields: [String] = [
            entry.id.rawValue, LogEntryJSON.timestamp(entry.timestamp), entry.level.rawValue, entry.source,
            context.component, context.module, context.function, context.line.map(String.init) ?? "",
            context.traceID ?? "", context.spanID ?? "", context.requestID ?? "", context.userID ?? "", entry.message,
            jsonField(context.additionalFields), jsonField(entry.metadata),
        ]
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(0x2C) }
            writeCSVField(field, to: &out)
        }
        out.append(contentsOf: [0x0D, 0x0A])
    }

    /// Appends a field, quoted when it holds a comma, a quote, CR or LF, with quotes doubled (RFC 4180).
    static func writeCSVField(_ text: String, to out: inout [UInt8]) {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else {
            out.append(contentsOf: utf8)
            return
        }
        out.append(0x22)
        for byte in utf8 {
            out.append(byte)
            if byte == 0x22 { out.append(0x22) }
        }
        out.append(0x22)
    }
}
