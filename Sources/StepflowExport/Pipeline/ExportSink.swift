import Foundation
import StepflowCore

/// What became of one item of a request, as the receiver answered for it.
public enum ExportItemOutcome: Sendable, Equatable {
    /// Taken (or already there from an earlier attempt).
    case sent
    /// Refused for now (overloaded, unavailable, not configured yet): sent again.
    case retry(String)
    /// Refused for good (it can never be taken, such as a mapping error): skipped, logged and counted.
    case refused(String)
}

/// What a receiver answered for the items of one ``ExportSink/send(_:)``.
public struct ExportResponse: Sendable, Equatable {
    /// One outcome per item, in order.
    public var outcomes: [ExportItemOutcome]
    /// How long the receiver asked to wait before items refused for now are sent again (`Retry-After`).
    public var retryAfter: Duration?

    public init(_ outcomes: [ExportItemOutcome], retryAfter: Duration? = nil) {
        self.outcomes = outcomes
        self.retryAfter = retryAfter
    }

    /// `Retry-After` as seconds or an HTTP date (RFC 9110), at most a day; `nil` when absent or unreadable.
    public static func retryAfter(header: String?) -> Duration? {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return nil }
        if let seconds = Int(header), seconds >= 0 { return .seconds(min(seconds, 86_400)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: header) else { return nil }
        // A date from the receiver: clamped, never converted with a trapping initializer.
        return min(max(.milliseconds(clampingSeconds: date.timeIntervalSinceNow), .zero), .seconds(86_400))
    }
}

/// The receiving end of an exporter: sends items and says what became of each.
public protocol ExportSink<Item>: Sendable {
    associatedtype Item: Sendable
    /// The exporter's name in job names, metrics and health (`elasticsearch`, `otlp`).
    var name: String { get }
    /// Where it sends, for logs and health.
    var destination: String { get }
    /// Sends `items` (in as many requests as its limits take) and returns one outcome per item, in order, and
    /// the wait the receiver asked for, if any.
    ///
    /// - Throws: `networkError` or `exportFailed` when a request as a whole failed (no connection, a timeout, 429,
    ///   5xx, a misconfiguration): nothing is counted as sent and the items are sent again later.
    func send(_ items: [Item]) async throws(MonitoringError) -> ExportResponse
}
