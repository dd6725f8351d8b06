import Foundation
import StepflowCore
import StepflowWireFormats

/// OTLP attribute values as the host's JSON values (docs/ingest.md, "OTLP: mapping").
enum OTLPAttributes {
    /// The deepest arrays and maps nest in an attribute value; deeper ones become their text.
    static let maxDepth = 8

    /// `AnyValue` as JSON: strings, booleans, integers and doubles as themselves, bytes as base64, arrays and
    /// key-value lists as arrays and objects.
    static func value(_ value: Opentelemetry_Proto_Common_V1_AnyValue, depth: Int = 0) -> JSONValue {
        switch value.value {
        case .stringValue(let text)?: return .string(text)
        case .boolValue(let flag)?: return .bool(flag)
        case .intValue(let integer)?: return .int(integer)
        case .doubleValue(let double)?: return double.isFinite ? .double(double) : .string("\(double)")
        case .bytesValue(let data)?: return .string(data.base64EncodedString())
        case .arrayValue(let array)?:
            guard depth < maxDepth else { return .string("(nested too deep)") }
            return .array(array.values.map { Self.value($0, depth: depth + 1) })
        case .kvlistValue(let list)?:
            guard depth < maxDepth else { return .string("(nested too deep)") }
            return .object(object(list.values, depth: depth + 1))
        case nil: return .null
        }
    }

    /// Key-value pairs as an object; a key given twice keeps its last value.
    static func object(_ pairs: [Opentelemetry_Proto_Common_V1_KeyValue], depth: Int = 0) -> [String: JSONValue] {
        var object: [String: JSONValue] = [:]
        for pair in pairs { object[pair.key] = value(pair.value, depth: depth) }
        return object
    }

    /// The text of a value: a string as itself, anything else as its JSON.
    static func text(_ value: Opentelemetry_Proto_Common_V1_AnyValue) -> String {
        if case .stringValue(let text)? = value.value { return text }
        return Self.value(value).jsonText
    }

    /// The string attribute `key`, if there is one.
    static func string(_ key: String, in pairs: [Opentelemetry_Proto_Common_V1_KeyValue]) -> String? {
        guard case .stringValue(let text)? = pairs.last(where: { $0.key == key })?.value.value else { return nil }
        return text
    }

    /// A Unix time in nanoseconds as a date; `nil` for zero (unset) or a time outside ``ValidTime``.
    static func date(nanoseconds: UInt64) -> Date? {
        guard nanoseconds > 0, ValidTime.contains(milliseconds: Int64(clamping: nanoseconds / 1_000_000)) else {
            return nil
        }
        return Date(timeIntervalSince1970: Double(nanoseconds / 1_000) / 1_000_000)
    }
}

/// Trace and span ids of an OTLP request: raw bytes in protobuf; in JSON, hex text that swift-protobuf's JSON
/// decoder has read as base64 (OTLP/JSON writes ids in hex, not base64: docs/ingest.md, "OTLP: encodings").
struct OTLPIdentifiers {
    let json: Bool

    /// The 16 bytes of a trace id, or `nil` when it is not one (missing, wrong length, all zero).
    func traceID(_ data: Data) -> TraceID? {
        guard let bytes = bytes(data, count: 16), bytes.contains(where: { $0 != 0 }) else { return nil }
        return TraceID(bytes: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// The 8 bytes of a span id, or `nil`.
    func spanID(_ data: Data) -> SpanID? {
        guard let bytes = bytes(data, count: 8), bytes.contains(where: { $0 != 0 }) else { return nil }
        return SpanID(bytes: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]))
    }

    private func bytes(_ data: Data, count: Int) -> [UInt8]? {
        guard json else { return data.count == count ? Array(data) : nil }
        // The hex text, given back by encoding the bytes the JSON decoder made of it.
        let text = data.base64EncodedString()
        guard text.utf8.count == count * 2 else { return nil }
        return count == 16 ? TraceID(hex: text).map { Array(withUnsafeBytes(of: $0.bytes) { $0 }) }
            : SpanID(hex: text).map { Array(withUnsafeBytes(of: $0.bytes) { $0 }) }
    }
}

/// Why one span, log record or data point of an OTLP request was not taken (counted in the response's partial
/// success).
struct OTLPRejection: Error, ExpressibleByStringInterpolation {
    let reason: String

    init(stringLiteral value: String) { reason = value }
    init(stringInterpolation: DefaultStringInterpolation) { reason = String(stringInterpolation: stringInterpolation) }
}
