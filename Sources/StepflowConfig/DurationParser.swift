import StepflowCore

/// Reads and writes durations as configuration text: `500ms`, `30s`, `5m`, `1h`, `1h30m`, `1.5s`, or a plain
/// (integer or decimal) number of seconds. Values are kept to the nanosecond.
enum DurationParser {
    /// Why a text is not a duration, phrased for the user.
    enum Failure: Error, Equatable {
        case malformed
        case tooLarge
    }

    /// Nanoseconds in each unit the grammar accepts; longest spellings first so `ms` wins over `m`.
    private static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("ms", 1_000_000), ("us", 1_000), ("µs", 1_000), ("ns", 1),
        ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
    ]

    /// What the grammar accepts, for error messages.
    static let grammar = "a duration such as 500ms, 30s, 5m, 1h, 1h30m, or a number of seconds"

    /// Parses `text`; a leading `-` is accepted so that the caller can report a negative duration as out of range.
    ///
    /// A duration longer than ten years (, ``AlertRule/longestDuration``) is `tooLarge`, so that no
    /// configured interval overflows the clock and millisecond arithmetic it goes through.
    static func parse(_ text: String) -> Result<Duration, Failure> {
        parseUnbounded(text).flatMap { duration in
            duration > AlertRule.longestDuration || duration < .zero - AlertRule.longestDuration
                ? .failure(.tooLarge) : .success(duration)
        }
    }

    private static func parseUnbounded(_ text: String) -> Result<Duration, Failure> {
        var rest = Substring(text.trimmingWhitespace())
        var negative = false
        if rest.first == "-" || rest.first == "+" {
            negative = rest.first == "-"
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty else { return .failure(.malformed) }

        // A plain number is seconds.
        if rest.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            return nanoseconds(of: rest, perUnit: 1_000_000_000).map { sign($0, negative) }
        }

        var total: Int64 = 0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty else { return .failure(.malformed) }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }) else { return .failure(.malformed) }
            rest = rest.dropFirst(unit.suffix.count)
            switch nanoseconds(of: number, perUnit: unit.nanoseconds) {
            case .failure(let failure):
                return .failure(failure)
            case .success(let value):
                let (sum, overflow) = total.addingReportingOverflow(value)
                guard !overflow else { return .failure(.tooLarge) }
                total = sum
            }
        }
        return .success(sign(total, negative))
    }

    /// The shortest text that ``parse(_:)`` reads back as `duration`, such as `1h30m` or `1s500ms`.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        var nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if nanoseconds.overflow { return "\(seconds)s" }
        nanoseconds.partialValue += attoseconds / 1_000_000_000
        if nanoseconds.partialValue == 0 { return "0s" }
        var text = nanoseconds.partialValue < 0 ? "-" : ""
        var remaining = nanoseconds.partialValue.magnitude
        for (suffix, size) in [
            ("h", UInt64(3_600_000_000_000)), ("m", 60_000_000_000), ("s", 1_000_000_000),
            ("ms", 1_000_000), ("us", 1_000), ("ns", 1),
        ] where remaining >= size {
            text += "\(remaining / size)\(suffix)"
            remaining %= size
        }
        return text
    }

    private static func sign(_ value: Int64, _ negative: Bool) -> Duration {
        .nanoseconds(negative ? -value : value)
    }

    /// `number` (digits with at most one `.`) times `perUnit`, exactly, rounded down to whole nanoseconds.
    private static func nanoseconds(of number: Substring, perUnit: Int64) -> Result<Int64, Failure> {
        let pieces = number.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count <= 2, number != "." else { return .failure(.malformed) }
        let whole = pieces[0]
        let fraction = pieces.count == 2 ? pieces[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), !fraction.contains(".") else { return .failure(.malformed) }

        var total: Int64 = 0
        if !whole.isEmpty {
            guard let wholeValue = Int64(whole) else { return .failure(.tooLarge) }
            let (product, overflow) = wholeValue.multipliedReportingOverflow(by: perUnit)
            guard !overflow else { return .failure(.tooLarge) }
            total = product
        }
        // Each fractional digit is worth a tenth of the one before; digits past nanosecond precision are dropped.
        var place = perUnit
        for digit in fraction {
            place /= 10
            if place == 0 { break }
            guard let value = digit.wholeNumberValue.flatMap(Int64.init(exactly:)) else { return .failure(.malformed) }
            let (part, partOverflow) = value.multipliedReportingOverflow(by: place)
            let (sum, overflow) = total.addingReportingOverflow(part)
            guard !partOverflow, !overflow else { return .failure(.tooLarge) }
            total = sum
        }
        return .success(total)
    }
}

extension String {
    /// The text without leading and trailing spaces, tabs and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
