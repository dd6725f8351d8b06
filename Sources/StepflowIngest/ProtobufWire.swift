/// The protobuf wire format's primitives over a body's bytes: varints, tags, length-delimited payloads, skipping
/// a field. What the direct readers (remote write, the OTLP item count) walk requests with; every read checks its
/// bounds and says `nil` (or `false`) for anything cut or malformed, for the generated decoder to name.
struct ProtobufWire {
    let bytes: UnsafeBufferPointer<UInt8>

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// A varint at `index`, moving `index` past it; `nil` when it is cut or longer than ten bytes.
    func varint(_ index: inout Int, end: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < end, shift < 64 {
            let byte = bytes[index]
            index += 1
            // The tenth byte holds the 64th bit only; anything more is the other decoder's to judge.
            if shift == 63, byte > 1 { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    /// A field's number and wire type at `index`.
    func tag(_ index: inout Int, end: Int) -> (field: UInt64, wire: UInt64)? {
        // Field numbers run from 1 to 2^29 - 1.
        guard let key = varint(&index, end: end), key >> 3 != 0, key >> 3 <= 536_870_911 else { return nil }
        return (key >> 3, key & 7)
    }

    /// The range of a length-delimited field's payload at `index`, moving past it.
    func payload(_ index: inout Int, end: Int) -> Range<Int>? {
        guard let length = varint(&index, end: end), length <= UInt64(end - index) else { return nil }
        let range = index..<(index + Int(length))
        index = range.upperBound
        return range
    }

    /// Skips a field of wire type `wire`; `false` for groups and unknown wire types.
    func skip(_ wire: UInt64, _ index: inout Int, end: Int) -> Bool {
        switch wire {
        case 0: return varint(&index, end: end) != nil
        case 1:
            guard end - index >= 8 else { return false }
            index += 8
            return true
        case 2: return payload(&index, end: end) != nil
        case 5:
            guard end - index >= 4 else { return false }
            index += 4
            return true
        default: return false
        }
    }
}
