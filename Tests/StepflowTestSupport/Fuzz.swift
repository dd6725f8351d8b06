import Foundation

/// A small, seeded pseudo-random generator (SplitMix64): a fuzz run is reproduced from its seed, which every fuzz
/// test prints when it fails.
public struct FuzzRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly chosen element.
    public mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &self)] }

    /// `true` with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}

/// The seed of this run: `STEPFLOW_FUZZ_SEED` when set (to replay a failure), else a fixed one, so CI runs are
/// reproducible.
public func fuzzSeed(default fallback: UInt64) -> UInt64 {
    ProcessInfo.processInfo.environment["STEPFLOW_FUZZ_SEED"].flatMap(UInt64.init) ?? fallback
}

/// Texts that have broken parsers before, or that sit on a boundary: extreme numbers, empty and huge strings,
/// bad UTF-8, control characters, brackets, quotes, regex bombs.
public enum FuzzCorpus {
    public static let numbers = [
        "0", "-0", "1", "-1", "1e300", "-1e300", "1e17", "-1e17", "1e308", "1.7976931348623157e309", "5e-324",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616",
        "253402300800000", "253402300799999", "NaN", "nan", "inf", "-inf", "+Inf", "Infinity", "0x10", "1_000",
        "1.", ".5", "--1", "1e", "99999999999999999999999999999", "3660d", "87841h", "9223372036.999999999s",
    ]

    public static let strings = [
        "", " ", "a", "é", "\u{0}", "\u{7f}", "\u{202e}", "💥", "\\", "\"", "'", "{", "}", "[", "]", "(", ")",
        "{{", "}}", "${", "%00", "%", "%zz", "\r\n", "\n", ";", ",", "=", "=~", "!~", "!=", "..", "/", "//api",
        "(a+)+", "(a|a)*b", ".*.*.*=.*", "[", "\\p{", "(?P<x>", "x{1000000}", String(repeating: "a", count: 300),
        String(repeating: "(", count: 200), String(repeating: "[", count: 500), String(repeating: "é", count: 5000),
        "rx{v=~\"(a+)+\"}", "up{job=\"a\",job=\"b\"}", "{__name__=~\".+\"}", "rate(x[99999999999w])",
        "2026-12-01T10:00:00Z", "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "2026-13-45T99:99:99Z",
    ]

    /// One of the corpus' numbers or strings.
    public static func token(_ random: inout FuzzRandom) -> String {
        random.chance(0.5) ? random.pick(numbers) : random.pick(strings)
    }
}

/// Byte-level and text-level mutations of a seed input.
public enum FuzzMutator {
    /// `text` changed once or a few times: a byte flipped, inserted, deleted or duplicated, a span cut, a corpus
    /// token spliced in, or everything truncated.
    public static func mutate(_ text: String, _ random: inout FuzzRandom) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &random))
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...32, using: &random))
                bytes.removeSubrange(position..<end)
            case 5: bytes.insert(contentsOf: Array(FuzzCorpus.token(&random).utf8), at: position)
            case 6: bytes = Array(bytes.prefix(position))
            default: bytes.insert(random.pick(Array("{}[]()\"'\\:,=~!<>&|#\n\t ".utf8)), at: position)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON value of any kind, sometimes deeply nested or huge.
    public static func jsonValue(_ random: inout FuzzRandom, depth: Int = 0) -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return random.pick(FuzzCorpus.numbers.filter { Double($0) != nil && !$0.lowercased().contains("n") })
        case 1: return "\"" + FuzzCorpus.token(&random).replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\u{0}", with: "\\u0000") + "\""
        case 2: return random.pick(["null", "true", "false", "[]", "{}"])
        case 3 where depth < 4:
            return "[" + (0..<Int.random(in: 0...3, using: &random)).map { _ in jsonValue(&random, depth: depth + 1) }
                .joined(separator: ",") + "]"
        case 4 where depth < 4:
            return "{" + (0..<Int.random(in: 0...3, using: &random)).map { index in
                "\"k\(index)\":" + jsonValue(&random, depth: depth + 1)
            }.joined(separator: ",") + "}"
        case 5: return String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        case 6: return "\"" + String(repeating: "x", count: Int.random(in: 0...5000, using: &random)) + "\""
        default: return String(Int64.random(in: .min ... .max, using: &random))
        }
    }
}
