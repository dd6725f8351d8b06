import Foundation

/// Which way a log query reads.
public enum LogOrder: String, Sendable, Hashable, CaseIterable {
    case newestFirst = "newest"
    case oldestFirst = "oldest"
}

/// Where a page of log entries ended: pass it back as ``LogQuery/cursor`` for the next page. Opaque text
/// (`<unix ms>.<row>`), stable while the entries exist.
public struct LogCursor: Sendable, Hashable, CustomStringConvertible {
    public let timestamp: Int64
    public let row: Int64

    public init(timestamp: Int64, row: Int64) {
        self.timestamp = timestamp
        self.row = row
    }

    /// A cursor from its text, or `invalidQuery`.
    public init(parsing text: String) throws(MonitoringError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let timestamp = Int64(parts[0]), let row = Int64(parts[1]) else {
            throw .invalidQuery("'\(text)' is not a log cursor", hint: "pass back the next_cursor of a previous page")
        }
        self.init(timestamp: timestamp, row: row)
    }

    public var description: String { "\(timestamp).\(row)" }
}

/// Which log entries a query returns: the spec's `LogQuery`. Every field set must match.
public struct LogQuery: Sendable, Hashable {
    /// This level and every more severe one.
    public var minimumLevel: LogLevel?
    public var since: Date?
    public var until: Date?
    public var component: String?
    public var module: String?
    public var function: String?
    public var traceID: String?
    public var spanID: String?
    public var requestID: String?
    public var userID: String?
    /// Entries whose message contains this text (case-sensitive).
    public var messageContains: String?
    /// The most entries returned, 1…10,000.
    public var limit: Int
    /// Where the previous page ended.
    public var cursor: LogCursor?
    public var order: LogOrder

    public init(
        minimumLevel: LogLevel? = nil, since: Date? = nil, until: Date? = nil, component: String? = nil,
        module: String? = nil, function: String? = nil, traceID: String? = nil, spanID: String? = nil,
        requestID: String? = nil, userID: String? = nil, messageContains: String? = nil, limit: Int = 100,
        cursor: LogCursor? = nil, order: LogOrder = .newestFirst
    ) {
        self.minimumLevel = minimumLevel
        self.since = since
        self.until = until
        self.component = component
        self.module = module
        self.function = function
        self.traceID = traceID
        self.spanID = spanID
        self.requestID = requestID
        self.userID = userID
        self.messageContains = messageContains
        self.limit = limit
        self.cursor = cursor
        self.order = order
    }

    /// The largest page.
    public static let maximumLimit = 10_000

    /// The query, or `invalidQuery` when its range is inverted or its limit out of range.
    public func validated() throws(MonitoringError) -> LogQuery {
        if let since, let until, since > until {
            throw .invalidQuery("the time range is inverted: since is after until", hint: "swap the two times")
        }
        guard (1...Self.maximumLimit).contains(limit) else {
            throw .invalidQuery("limit must be from 1 to \(Self.maximumLimit), found \(limit)")
        }
        return self
    }
}

/// A page of entries and where the next one starts (`nil` when this was the last).
public struct LogPage: Sendable, Hashable {
    public var entries: [LogEntry]
    public var nextCursor: LogCursor?

    public init(entries: [LogEntry], nextCursor: LogCursor?) {
        self.entries = entries
        self.nextCursor = nextCursor
    }
}

/// Which entries statistics cover: the spec's `LogFilter`.
public struct LogFilter: Sendable, Hashable {
    public var since: Date?
    public var until: Date?
    public var component: String?
    public var minimumLevel: LogLevel?

    public init(since: Date? = nil, until: Date? = nil, component: String? = nil, minimumLevel: LogLevel? = nil) {
        self.since = since
        self.until = until
        self.component = component
        self.minimumLevel = minimumLevel
    }
}

/// Counts of log entries: the spec's `LogStats`.
public struct LogStats: Sendable, Hashable {
    public var total: Int
    public var byLevel: [LogLevel: Int]
    public var byComponent: [String: Int]
    public var first: Date?
    public var last: Date?
    /// Entries per minute between `first` and `last` (or over the filter's range when it has one).
    public var ratePerMinute: Double

    public init(
        total: Int, byLevel: [LogLevel: Int], byComponent: [String: Int], first: Date?, last: Date?,
        ratePerMinute: Double
    ) {
        self.total = total
        self.byLevel = byLevel
        self.byComponent = byComponent
        self.first = first
        self.last = last
        self.ratePerMinute = ratePerMinute
    }
}

/// How `export_logs` writes entries: the spec's `ExportFormat`.
public enum ExportFormat: String, Sendable, Hashable, CaseIterable {
    /// One JSON array.
    case json
    /// One JSON object per line.
    case ndjson
    /// RFC 4180 CSV with a header line.
    case csv

    /// The MIME type of the format.
    public var contentType: String {
        switch self {
        case .json: return "application/json; charset=utf-8"
        case .ndjson: return "application/x-ndjson; charset=utf-8"
        case .csv: return "text/csv; charset=utf-8"
        }
    }
}
