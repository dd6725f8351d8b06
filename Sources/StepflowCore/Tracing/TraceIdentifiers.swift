import W3CTraceContext

/// A W3C trace id: 16 bytes, written as 32 lowercase hex digits (swift-w3c-trace-context's type).
public typealias TraceID = W3CTraceContext.TraceID
/// A W3C span id: 8 bytes, written as 16 lowercase hex digits (swift-w3c-trace-context's type).
public typealias SpanID = W3CTraceContext.SpanID

extension TraceID {
    /// The id written as 32 hex digits, or `nil` for anything else (and for the invalid all-zero id).
    public init?(hex: String) {
        guard let bytes = HexDigits.bytes(hex, count: 16), bytes.contains(where: { $0 != 0 }) else { return nil }
        self.init(bytes: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// ``init(hex:)``, or `invalidQuery` saying what a trace id looks like.
    public static func parse(_ text: String) throws(MonitoringError) -> TraceID {
        guard let id = TraceID(hex: text) else {
            throw .invalidQuery(
                "'\(text)' is not a trace id", hint: "a W3C trace id is 32 hex digits, not all zero")
        }
        return id
    }

    /// The low 8 bytes as a number: what sampling decides on, so every span of a trace is decided alike.
    public var samplingValue: UInt64 {
        let b = bytes
        return [b.8, b.9, b.10, b.11, b.12, b.13, b.14, b.15].reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension SpanID {
    /// The id written as 16 hex digits, or `nil` for anything else (and for the invalid all-zero id).
    public init?(hex: String) {
        guard let bytes = HexDigits.bytes(hex, count: 8), bytes.contains(where: { $0 != 0 }) else { return nil }
        self.init(bytes: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]))
    }

    /// ``init(hex:)``, or `invalidQuery` saying what a span id looks like.
    public static func parse(_ text: String) throws(MonitoringError) -> SpanID {
        guard let id = SpanID(hex: text) else {
            throw .invalidQuery("'\(text)' is not a span id", hint: "a W3C span id is 16 hex digits, not all zero")
        }
        return id
    }
}

enum HexDigits {
    /// `count` bytes from exactly `2 × count` hex digits (either case).
    static func bytes(_ text: String, count: Int) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == count * 2 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: return digit - 0x30
        case 0x61...0x66: return digit - 0x61 + 10
        case 0x41...0x46: return digit - 0x41 + 10
        default: return nil
        }
    }
}
