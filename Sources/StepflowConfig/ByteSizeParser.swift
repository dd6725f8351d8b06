/// Parses a byte size as written in the configuration: a whole number of bytes, optionally followed by `KiB`,
/// `MiB` or `GiB` (powers of 1024), e.g. `536870912`, `512MiB`, `2 GiB`.
enum ByteSizeParser {
    /// The suffixes and their multipliers.
    static let units: [(suffix: String, multiplier: Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)]

    /// The number of bytes, or `nil` when `text` is not a byte size or overflows.
    static func parse(_ text: String) -> Int? {
        var number = Substring(text.trimmingWhitespace())
        var multiplier = 1
        for unit in units where number.hasSuffix(unit.suffix) {
            number = number.dropLast(unit.suffix.count)
            multiplier = unit.multiplier
            break
        }
        let digits = number.trimmingWhitespace()
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let value = Int(digits) else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }

    /// `bytes` in the largest unit that divides it, e.g. `512MiB`.
    static func format(_ bytes: Int) -> String {
        for unit in units.reversed() where bytes > 0 && bytes % unit.multiplier == 0 {
            return "\(bytes / unit.multiplier)\(unit.suffix)"
        }
        return "\(bytes)"
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
