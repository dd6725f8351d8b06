/// Decides which sample refusals are logged: the first of each (source, reason) at once, then at most one line
/// a minute counting the refusals since the last line, so that a plugin refused on every collection does not fill
/// the log with the same warning.
struct RefusalLog {
    /// The shortest time between two lines of one (source, reason), in milliseconds.
    static let interval: Int64 = 60_000

    /// A line to log.
    struct Line: Sendable {
        let source: MetricSource
        let reason: SampleRefusal
        /// The latest refusal's message.
        let message: String
        /// Refusals since the previous line; 1 for the first.
        let count: UInt64
        let first: Bool
    }

    private struct Key: Hashable {
        let source: MetricSource
        let reason: SampleRefusal
    }

    private struct Entry {
        var lastLogged: Int64
        var unlogged: UInt64
        var latest: String

        /// The line counting what was not logged yet; starts a new interval.
        mutating func take(at now: Int64, key: Key) -> Line {
            let line = Line(source: key.source, reason: key.reason, message: latest, count: unlogged, first: false)
            unlogged = 0
            lastLogged = now
            return line
        }
    }

    private var entries: [Key: Entry] = [:]

    /// Notes one refusal at `now` (Unix milliseconds); returns the line to log, if one is due.
    mutating func note(source: MetricSource, reason: SampleRefusal, message: String, now: Int64) -> Line? {
        let key = Key(source: source, reason: reason)
        guard var entry = entries[key] else {
            entries[key] = Entry(lastLogged: now, unlogged: 0, latest: message)
            return Line(source: source, reason: reason, message: message, count: 1, first: true)
        }
        entry.unlogged += 1
        entry.latest = message
        defer { entries[key] = entry }
        guard now &- entry.lastLogged >= Self.interval else { return nil }
        return entry.take(at: now, key: key)
    }

    /// The counts due at `now` for refusals that stopped coming (called by the periodic sweep).
    mutating func due(now: Int64) -> [Line] {
        var lines: [Line] = []
        for (key, var entry) in entries where entry.unlogged > 0 && now &- entry.lastLogged >= Self.interval {
            lines.append(entry.take(at: now, key: key))
            entries[key] = entry
        }
        return lines
    }
}
