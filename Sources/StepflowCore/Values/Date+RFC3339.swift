import Foundation

extension Date {
    /// RFC 3339 in UTC with milliseconds (`2026-12-01T10:00:00.250Z`), as every JSON answer and export writes times.
    ///
    /// Formats with `Date.ISO8601FormatStyle`, a value type: creating an `ISO8601DateFormatter` per call costs about
    /// 50 µs on Linux, 200 times the format itself, which a log export of a million entries cannot afford.
    ///
    /// The time is rounded to the millisecond first, as it is stored (``unixMilliseconds``): the formatter cuts
    /// the fraction, and a stored millisecond read back as a `Date` is often a hair below itself in binary
    /// (`…58.953999…`), which would print one millisecond early.
    public var rfc3339: String {
        let milliseconds = (timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.isFinite else { return Date.rfc3339Milliseconds.format(self) }
        return Date.rfc3339Milliseconds.format(Date(timeIntervalSince1970: (milliseconds + 0.0005) / 1000))
    }

    /// RFC 3339 in UTC to the second (`2026-12-01T10:00:00Z`), for tables meant to be read.
    public var rfc3339Seconds: String { Date.rfc3339Whole.format(self) }

    /// Parses RFC 3339 with or without fractional seconds (`2026-12-01T10:00:00Z`, `2026-12-01T10:00:00.5+01:00`).
    public init?(rfc3339 text: String) {
        if let date = try? Date.rfc3339Milliseconds.parse(text) {
            self = date
        } else if let date = try? Date.rfc3339Whole.parse(text) {
            self = date
        } else {
            return nil
        }
    }

    private static let rfc3339Milliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let rfc3339Whole = Date.ISO8601FormatStyle()
}
