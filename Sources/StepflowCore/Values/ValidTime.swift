import Foundation

/// The one range of times the host accepts, stores and computes with: the years 1970 through 9999, in Unix
/// milliseconds. It is what RFC 3339 and the stored `INTEGER` milliseconds both hold, and far enough from
/// `Int64`'s ends that arithmetic on two valid times (a difference, a window of at most ten years) cannot
/// overflow. docs/http-api.md ("Limits") documents it.
///
/// Every time that enters — a query parameter, a JSON field, a plugin sample, a YAML value, a protobuf field —
/// is checked here; a stored row outside it is skipped and counted, never computed with.
public enum ValidTime {
    /// 1970-01-01T00:00:00Z.
    public static let earliestMilliseconds: Int64 = 0
    /// 9999-12-31T23:59:59.999Z.
    public static let latestMilliseconds: Int64 = 253_402_300_799_999
    /// The range as milliseconds.
    public static let milliseconds: ClosedRange<Int64> = earliestMilliseconds...latestMilliseconds
    /// How the range is named in error messages.
    public static let rangeText = "the years 1970 to 9999"

    /// Whether `milliseconds` lies in the range.
    @inlinable public static func contains(milliseconds value: Int64) -> Bool {
        value >= 0 && value <= 253_402_300_799_999
    }

    /// Whether `date` lies in the range (a NaN date does not).
    public static func contains(_ date: Date) -> Bool {
        let seconds = date.timeIntervalSince1970
        return seconds >= 0 && seconds < 253_402_300_800
    }

    /// The date `milliseconds` after the epoch, or `nil` outside the range.
    public static func date(unixMilliseconds value: Int64) -> Date? {
        contains(milliseconds: value) ? Date(timeIntervalSince1970: Double(value) / 1000) : nil
    }

    /// The date `seconds` after the epoch, or `nil` outside the range (NaN and infinities included).
    public static func date(unixSeconds seconds: Double) -> Date? {
        seconds >= 0 && seconds < 253_402_300_800 ? Date(timeIntervalSince1970: seconds) : nil
    }

    /// `date` in Unix milliseconds when it lies in the range, else `nil`: for values that must be refused, not
    /// clamped, when they are out of range.
    public static func milliseconds(of date: Date) -> Int64? {
        contains(date) ? date.unixMilliseconds : nil
    }

    /// A millisecond value outside the range, standing for a date that was: the engines refuse it by reason
    /// `timestamp_out_of_range` instead of storing a clamped time.
    public static let outOfRangeMarker: Int64 = -1

    /// `date`, or an `invalidQuery` error naming `what` and the range.
    public static func checked(_ date: Date, what: String) throws(MonitoringError) -> Date {
        guard contains(date) else {
            throw .invalidQuery(
                "\(what) is outside \(rangeText)", hint: "give an RFC 3339 time such as 2026-12-01T10:00:00Z")
        }
        return date
    }

    /// `value` clamped into the range: for arithmetic that must not trap on a value that was not checked.
    @inlinable public static func clamp(milliseconds value: Int64) -> Int64 {
        min(max(value, 0), 253_402_300_799_999)
    }
}

extension Date {
    /// Unix milliseconds, rounded and clamped into ``ValidTime``: how timestamps are stored and travel. It never
    /// traps; a date outside the range (which input checking refuses before it gets here) maps to the nearest end.
    package var unixMilliseconds: Int64 {
        let milliseconds = (timeIntervalSince1970 * 1000).rounded()
        guard milliseconds >= 0 else { return 0 }  // NaN fails both comparisons and lands here
        guard milliseconds <= 253_402_300_799_999 else { return ValidTime.latestMilliseconds }
        return Int64(milliseconds)
    }

    /// The date `milliseconds` after the Unix epoch.
    package init(unixMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
