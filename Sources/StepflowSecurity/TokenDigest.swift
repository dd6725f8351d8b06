import Crypto

/// SHA-256 digests of bearer tokens: the only form in which the host keeps a token once it has started, and the
/// form `check-config` prints.
public enum TokenDigest {
    /// The 32-byte SHA-256 digest of `token`'s UTF-8 bytes.
    public static func digest(_ token: some Sequence<UInt8>) -> [UInt8] {
        Array(SHA256.hash(data: Array(token)))
    }

    /// The digest as 64 lower-case hex digits (what `printf %s TOKEN | sha256sum` prints).
    public static func hex(_ token: String) -> String {
        hex(bytes: digest(token.utf8))
    }

    /// `bytes` as lower-case hex.
    public static func hex(bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes of a 64-digit hex digest (either case), or `nil` when `text` is not one.
    public static func bytes(hex text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// Compares two digests without stopping at the first difference, so the time taken does not reveal how much
    /// of a guess matched.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    private static func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
