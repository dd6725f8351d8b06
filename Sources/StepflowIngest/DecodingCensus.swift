/// What decoding a request would allocate, counted on its bytes before anything is decoded.
///
/// A generated decoder makes a struct of a few hundred bytes for a message that takes two bytes on the wire (an
/// empty `KeyValue`, a JSON `{}`), so a body within the size limits could still decode to gigabytes. The receivers
/// count the messages (and the repeated values that grow eightfold: packed varints, repeated strings, JSON array
/// elements) first and refuse with 413 a request whose estimate passes ``DecodingBudget`` (docs/ingest.md,
/// "Limits").
struct DecodingCensus: Equatable {
    /// Messages (JSON objects) the decoder would make.
    var messages = 0
    /// Repeated scalar or string values (JSON array elements).
    var values = 0
    /// Items as the schema marks them: spans, log records, data points, samples.
    var items = 0
    /// `false` when the bytes stopped being well-formed before their end: the counts are those up to there, and
    /// the decoder, which stops at the same place, will name the error.
    var complete = true

    /// What a decoded message costs at most: the generated structs, their heap storage and `unknownFields`
    /// (measured: docs/ingest.md, "Limits").
    static let bytesPerMessage = 256
    /// What a decoded repeated value costs at most: a `String`, `Data` or 8-byte number and array growth.
    static let bytesPerValue = 16

    /// The estimated bytes of the decoded request, body included (its strings are copied once).
    func estimatedBytes(body: Int) -> Int {
        let (messageBytes, overflow) = messages.multipliedReportingOverflow(by: Self.bytesPerMessage)
        let (valueBytes, overflow2) = values.multipliedReportingOverflow(by: Self.bytesPerValue)
        guard !overflow, !overflow2 else { return .max }
        return messageBytes.addingReportingOverflow(valueBytes).partialValue.addingReportingOverflow(body).partialValue
    }
}

/// The most a request may decode to: 4 × the decompressed-body limit (256 MiB with the default
/// `http.max_body_size`).
struct DecodingBudget: Sendable {
    let bytes: Int

    init(maxDecompressedBytes: Int) {
        bytes = maxDecompressedBytes.multipliedReportingOverflow(by: 4).overflow ? .max : maxDecompressedBytes * 4
    }

    /// Why `census` of a body of `body` bytes is too large to decode, or `nil`.
    func refusal(_ census: DecodingCensus, body: Int) -> String? {
        let estimate = census.estimatedBytes(body: body)
        guard estimate > bytes else { return nil }
        return "the request would decode to about \(estimate / 1_048_576) MiB (\(census.messages) messages, "
            + "\(census.values) repeated values), more than \(bytes / 1_048_576) MiB (4 × the decompressed-body limit); "
            + "send smaller batches"
    }
}

/// How a protobuf message's fields are read by ``ProtobufWire/census(_:in:)``: which fields hold messages (and of
/// which schema), which hold values that grow when decoded, and whether the message is an item.
protocol WireSchema {
    /// What field `number` holds.
    func field(_ number: UInt64) -> WireField<Self>
    /// Whether a message of this schema is one of the request's items.
    var isItem: Bool { get }
}

/// What a field holds, for the census.
enum WireField<Schema: WireSchema> {
    /// A (repeated or single) message of `Schema`.
    case message(Schema)
    /// A repeated varint: each occurrence, or each varint of a packed run, is a value.
    case varints
    /// A repeated string or bytes field: each occurrence is a value.
    case strings
    /// Anything else: read into the message's own struct, no allocation of its own.
    case scalar
}

extension ProtobufWire {
    /// The deepest messages nest before the census stops (swift-protobuf's own limit is 100).
    static let maxCensusDepth = 100

    /// The census of the message of `schema` in `range`.
    func census<Schema: WireSchema>(_ schema: Schema, in range: Range<Int>) -> DecodingCensus {
        var census = DecodingCensus()
        census.complete = count(schema, in: range, depth: 0, into: &census)
        return census
    }

    private func count<Schema: WireSchema>(
        _ schema: Schema, in range: Range<Int>, depth: Int, into census: inout DecodingCensus
    ) -> Bool {
        guard depth < Self.maxCensusDepth else { return false }
        var index = range.lowerBound
        while index < range.upperBound {
            guard let (number, wire) = tag(&index, end: range.upperBound) else { return false }
            switch schema.field(number) {
            case .message(let inner) where wire == 2:
                guard let payload = payload(&index, end: range.upperBound) else { return false }
                census.messages += 1
                if inner.isItem { census.items += 1 }
                guard count(inner, in: payload, depth: depth + 1, into: &census) else { return false }
            case .varints where wire == 2:
                guard let payload = payload(&index, end: range.upperBound) else { return false }
                // A varint ends at each byte whose top bit is clear.
                for position in payload where bytes[position] & 0x80 == 0 { census.values += 1 }
            case .varints, .strings:
                census.values += 1
                guard skip(wire, &index, end: range.upperBound) else { return false }
            case .message, .scalar:
                guard skip(wire, &index, end: range.upperBound) else { return false }
            }
        }
        return true
    }
}

/// The census of a JSON body: every object is a message, every array element a value. Strings are skipped with
/// their escapes; the scan stops (incomplete) past ``maxDepth`` nested containers, which no decoder takes.
enum JSONCensus {
    static let maxDepth = 128

    static func census(_ bytes: UnsafeBufferPointer<UInt8>) -> DecodingCensus {
        var census = DecodingCensus()
        // One bit per open container: set for an array.
        var arrays: UInt128 = 0
        var depth = 0
        // Whether the innermost open array has had no element yet.
        var awaitingFirst = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                guard depth > 0 else { census.complete = false; return census }
                depth -= 1
                arrays &= ~(1 << UInt128(depth))
                awaitingFirst = false
                continue
            case UInt8(ascii: ","):
                if depth > 0, arrays & (1 << UInt128(depth - 1)) != 0 { census.values += 1 }
                continue
            default:
                break
            }
            if awaitingFirst {
                census.values += 1
                awaitingFirst = false
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < maxDepth else { census.complete = false; return census }
                if byte == UInt8(ascii: "{") {
                    census.messages += 1
                } else {
                    arrays |= 1 << UInt128(depth)
                    awaitingFirst = true
                }
                depth += 1
            case UInt8(ascii: "\""):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                index += 1
            default:
                break
            }
        }
        if depth != 0 { census.complete = false }
        return census
    }
}
