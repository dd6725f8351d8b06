/// Snappy's block format (https://github.com/google/snappy/blob/main/format_description.txt), the compression
/// Prometheus remote write requires.
///
/// Written here because no package on the list implements Snappy (compress-nio has gzip and deflate only); it is
/// the format's greedy compressor: a hash of 4-byte sequences finds earlier occurrences within 64 KiB, matches
/// become 1- or 2-byte-offset copies and the rest literals. ``decompress(_:)`` is there for the tests and for
/// reading what a receiver would.
public enum Snappy {
    /// The compressed block of `input`.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(32 + input.count + input.count / 6)
        var length = input.count
        while length >= 0x80 {
            output.append(UInt8(length & 0x7f) | 0x80)
            length >>= 7
        }
        output.append(UInt8(length))
        guard input.count >= 4 else {
            emitLiteral(input[...], into: &output)
            return output
        }
        let tableBits = 14
        var table = [Int32](repeating: -1, count: 1 << tableBits)
        func hash(_ position: Int) -> Int {
            let word = UInt32(input[position]) | UInt32(input[position + 1]) << 8 | UInt32(input[position + 2]) << 16
                | UInt32(input[position + 3]) << 24
            return Int((word &* 0x1e35_a7bd) >> (32 - UInt32(tableBits)))
        }
        var literalStart = 0
        var position = 0
        while position + 4 <= input.count {
            let slot = hash(position)
            let candidate = Int(table[slot])
            table[slot] = Int32(position)
            if candidate >= 0, position - candidate <= 0xffff,
                input[candidate] == input[position], input[candidate + 1] == input[position + 1],
                input[candidate + 2] == input[position + 2], input[candidate + 3] == input[position + 3]
            {
                var matched = 4
                while position + matched < input.count, input[candidate + matched] == input[position + matched] {
                    matched += 1
                }
                if literalStart < position { emitLiteral(input[literalStart..<position], into: &output) }
                emitCopy(offset: position - candidate, length: matched, into: &output)
                position += matched
                literalStart = position
            } else {
                position += 1
            }
        }
        if literalStart < input.count { emitLiteral(input[literalStart...], into: &output) }
        return output
    }

    private static func emitLiteral(_ bytes: ArraySlice<UInt8>, into output: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        let n = bytes.count - 1
        if n < 60 {
            output.append(UInt8(n << 2))
        } else {
            var extra: [UInt8] = []
            var rest = n
            while rest > 0 {
                extra.append(UInt8(rest & 0xff))
                rest >>= 8
            }
            output.append(UInt8((59 + extra.count) << 2))
            output.append(contentsOf: extra)
        }
        output.append(contentsOf: bytes)
    }

    private static func emitCopy(offset: Int, length: Int, into output: inout [UInt8]) {
        var length = length
        // Copies of 2-byte offset carry at most 64 bytes; keep at least 4 for the last one.
        while length >= 68 {
            emitCopy2(offset: offset, length: 64, into: &output)
            length -= 64
        }
        if length > 64 {
            emitCopy2(offset: offset, length: 60, into: &output)
            length -= 60
        }
        if length <= 11, offset < 2048 {
            output.append(UInt8(1 | ((length - 4) << 2) | ((offset >> 8) << 5)))
            output.append(UInt8(offset & 0xff))
        } else {
            emitCopy2(offset: offset, length: length, into: &output)
        }
    }

    private static func emitCopy2(offset: Int, length: Int, into output: inout [UInt8]) {
        output.append(UInt8(2 | ((length - 1) << 2)))
        output.append(UInt8(offset & 0xff))
        output.append(UInt8(offset >> 8))
    }

    /// What cannot be decompressed.
    public struct CorruptInput: Error, CustomStringConvertible {
        public let description: String
        /// Whether the block is refused only because it announces more bytes than the limit allows (the
        /// difference between "too large", 413, and "not Snappy", 400, to a receiver).
        public var exceedsLimit = false
    }

    /// The most bytes ``decompress(_:limit:)`` produces unless told otherwise: 64 MiB.
    public static let defaultLimit = 64 << 20

    /// The bytes a compressed block holds. Every input is hostile until checked: a preamble past `limit` is refused
    /// before anything is allocated, and no literal or copy may write past the length the preamble announced, so
    /// a small block cannot expand without bound.
    public static func decompress(_ input: [UInt8], limit: Int = defaultLimit) throws(CorruptInput) -> [UInt8] {
        var index = 0
        var expected = 0
        var shift = 0
        while true {
            guard index < input.count, shift < 35 else { throw CorruptInput(description: "bad length preamble") }
            let byte = input[index]
            index += 1
            expected |= Int(byte & 0x7f) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        guard expected <= limit else {
            throw CorruptInput(
                description: "the block announces \(expected) bytes, more than the limit of \(limit)", exceedsLimit: true)
        }
        var output: [UInt8] = []
        output.reserveCapacity(expected)
        while index < input.count {
            let tag = input[index]
            index += 1
            switch tag & 3 {
            case 0:
                var length = Int(tag >> 2) + 1
                if length > 60 {
                    let bytes = length - 60
                    guard index + bytes <= input.count else { throw CorruptInput(description: "literal length cut") }
                    length = 0
                    for k in 0..<bytes { length |= Int(input[index + k]) << (8 * k) }
                    length += 1
                    index += bytes
                }
                guard index + length <= input.count else { throw CorruptInput(description: "literal cut") }
                guard output.count + length <= expected else {
                    throw CorruptInput(description: "a literal goes past the \(expected) bytes the preamble announced")
                }
                output.append(contentsOf: input[index..<(index + length)])
                index += length
            default:
                let length: Int
                let offset: Int
                switch tag & 3 {
                case 1:
                    guard index < input.count else { throw CorruptInput(description: "copy cut") }
                    length = Int((tag >> 2) & 7) + 4
                    offset = Int(tag >> 5) << 8 | Int(input[index])
                    index += 1
                case 2:
                    guard index + 2 <= input.count else { throw CorruptInput(description: "copy cut") }
                    length = Int(tag >> 2) + 1
                    offset = Int(input[index]) | Int(input[index + 1]) << 8
                    index += 2
                default:
                    guard index + 4 <= input.count else { throw CorruptInput(description: "copy cut") }
                    length = Int(tag >> 2) + 1
                    offset = Int(input[index]) | Int(input[index + 1]) << 8 | Int(input[index + 2]) << 16
                        | Int(input[index + 3]) << 24
                    index += 4
                }
                guard offset > 0, offset <= output.count else { throw CorruptInput(description: "copy offset \(offset) out of range") }
                guard output.count + length <= expected else {
                    throw CorruptInput(description: "a copy goes past the \(expected) bytes the preamble announced")
                }
                let start = output.count - offset
                for k in 0..<length { output.append(output[start + k]) }
            }
        }
        guard output.count == expected else {
            throw CorruptInput(description: "decompressed \(output.count) bytes, the preamble says \(expected)")
        }
        return output
    }
}
