import Foundation
import GRDB
import StepflowCore

/// One stored point of a series: a raw sample, or the aggregate of one interval of samples.
public struct StoredPoint: Sendable, Hashable {
    /// Where a point comes from.
    public enum Kind: String, Sendable, Hashable {
        /// A sample as recorded.
        case raw
        /// An interval aggregate (`metrics.enable_aggregation`).
        case aggregate
    }

    /// An interval's summary of the samples rolled into it. For histograms and summaries, `min`, `max`, `sum`
    /// and `last` are taken over each sample's sum of observations (`nil` when every one was NaN).
    public struct Aggregate: Sendable, Hashable {
        public var intervalMilliseconds: Int64
        public var samples: Int
        public var min: Double?
        public var max: Double?
        public var sum: Double?
        public var last: Double?
    }

    /// Unix milliseconds: the sample's time, or the interval's start.
    public var timestamp: Int64
    /// The sample's value, or the last value of the interval.
    public var value: MetricValue
    public var kind: Kind
    /// The interval's summary, for aggregates.
    public var aggregate: Aggregate?
}

/// The stored points of one series over a time range.
public struct StoredSeries: Sendable, Hashable {
    public var name: String
    public var type: MetricType
    /// Sorted by name.
    public var labels: [Label]
    /// Oldest first.
    public var points: [StoredPoint]
}

/// What a range query reads.
public enum StoredPointSelection: String, Sendable, Hashable, CaseIterable {
    /// Raw samples only.
    case raw
    /// Interval aggregates only.
    case aggregated
    /// Both: raw samples where they are still kept, aggregates where they were rolled up.
    case auto
}

extension MetricStore {
    /// The points of every series named `name` (whose labels `matches` accepts) between `start` and `end`
    /// (Unix milliseconds, inclusive), oldest first, at most `limit` points in all.
    public func series(
        named name: String, from start: Int64, to end: Int64, selection: StoredPointSelection = .auto,
        limit: Int = 100_000, matches: @Sendable ([Label]) -> Bool = { _ in true }
    ) async throws(MonitoringError) -> [StoredSeries] {
        return try await database.read("read samples of \(name)") { db in
            var bySeries: [String: StoredSeries] = [:]
            var total = 0
            func series(for labelsText: String?, type: String) -> String? {
                let key = labelsText ?? ""
                if bySeries[key] != nil { return key }
                let labels = MetricValueCoding.decodeLabels(labelsText)
                guard matches(labels), let metricType = MetricType(rawValue: type) else { return nil }
                bySeries[key] = StoredSeries(name: name, type: metricType, labels: labels, points: [])
                return key
            }
            if selection != .aggregated {
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT value_type, value_data, labels, timestamp FROM monitoring_metrics
                        WHERE name = ? AND timestamp BETWEEN ? AND ? ORDER BY timestamp, id
                        """,
                    arguments: [name, start, end])
                while total < limit, let row = try rows.next() {
                    let type: String = row[0]
                    guard let key = series(for: row[2], type: type),
                        let value = MetricValueCoding.decode(type: type, data: row[1])
                    else { continue }
                    bySeries[key]!.points.append(StoredPoint(timestamp: row[3], value: value, kind: .raw))
                    total += 1
                }
            }
            if selection != .raw {
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT value_type, last_value_data, labels, interval_start, interval_ms, samples,
                               min, max, sum, last
                        FROM monitoring_metric_aggregates
                        WHERE name = ? AND interval_start BETWEEN ? AND ? ORDER BY interval_start
                        """,
                    arguments: [name, start, end])
                while total < limit, let row = try rows.next() {
                    let type: String = row[0]
                    let labelsText: String = row[2]
                    guard let key = series(for: labelsText.isEmpty ? nil : labelsText, type: type),
                        let value = MetricValueCoding.decode(type: type, data: row[1])
                    else { continue }
                    let aggregate = StoredPoint.Aggregate(
                        intervalMilliseconds: row[4], samples: row[5], min: row[6], max: row[7], sum: row[8],
                        last: row[9])
                    bySeries[key]!.points.append(
                        StoredPoint(timestamp: row[3], value: value, kind: .aggregate, aggregate: aggregate))
                    total += 1
                }
            }
            return bySeries.values
                .map { series -> StoredSeries in
                    var sorted = series
                    sorted.points.sort { $0.timestamp < $1.timestamp }
                    return sorted
                }
                .sorted { $0.labels.lexicographicallyPrecedes($1.labels) }
        }
    }

    /// The latest stored value of every series passing `filter` (raw samples and aggregates alike), sorted by
    /// name then labels, with the HELP texts of `monitoring_metric_families`.
    public func latest(filter: MetricFilter? = nil) async throws(MonitoringError) -> [MetricInfo] {
        return try await database.read("list the series stored") { db in try Self.latest(db, filter: filter) }
    }

    private static func latest(_ db: Database, filter: MetricFilter?) throws -> [MetricInfo] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let name = filter?.name {
            conditions.append("name = ?")
            arguments += [name]
        } else if let prefix = filter?.namePrefix {
            conditions.append("substr(name, 1, ?) = ?")
            arguments += [prefix.count, prefix]
        }
        var timeArguments = arguments
        var timeConditions = conditions
        if let since = filter?.since {
            // Only series written since then: the timestamp index bounds the scan (a restart restores these).
            timeConditions.append("timestamp >= ?")
            timeArguments += [since.unixMilliseconds]
        }
        var aggregateArguments = arguments
        var aggregateConditions = conditions
        if let since = filter?.since {
            aggregateConditions.append("last_timestamp >= ?")
            aggregateArguments += [since.unixMilliseconds]
        }
        // A row whose time is not an integer in the valid range (written by hand, by another program, or before
        // times were checked) is never a series' latest.
        timeConditions.append("typeof(timestamp) = 'integer' AND timestamp BETWEEN \(ValidTime.earliestMilliseconds) AND \(ValidTime.latestMilliseconds)")
        aggregateConditions.append("typeof(last_timestamp) = 'integer' AND last_timestamp BETWEEN \(ValidTime.earliestMilliseconds) AND \(ValidTime.latestMilliseconds)")
        let rawClause = "WHERE " + timeConditions.joined(separator: " AND ")
        let nameClause = "WHERE " + aggregateConditions.joined(separator: " AND ")
        var help: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT name, help FROM monitoring_metric_families") {
            if let text: String = row[1] { help[row[0]] = text }
        }
        struct Latest {
            var type: String
            var data: String
            var timestamp: Int64
        }
        var latest: [String: [String: Latest]] = [:]
        // SQLite returns the bare columns of the row holding MAX(timestamp) in each group.
        let queries = [
            """
            SELECT name, labels, value_type, value_data, MAX(timestamp) FROM monitoring_metrics \(rawClause)
            GROUP BY name, labels
            """,
            """
            SELECT name, NULLIF(labels, ''), value_type, last_value_data, MAX(last_timestamp)
            FROM monitoring_metric_aggregates \(nameClause) GROUP BY name, labels
            """,
        ]
        for (sql, arguments) in zip(queries, [timeArguments, aggregateArguments]) {
            for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
                // Every column decoded without trusting it: a row that does not hold what it should is skipped.
                guard let name = String.fromDatabaseValue(row[0]), let type = String.fromDatabaseValue(row[2]),
                    let data = String.fromDatabaseValue(row[3]), let timestamp = Int64.fromDatabaseValue(row[4])
                else { continue }
                let labels = String.fromDatabaseValue(row[1]) ?? ""
                let candidate = Latest(type: type, data: data, timestamp: timestamp)
                if let existing = latest[name]?[labels], existing.timestamp >= candidate.timestamp { continue }
                latest[name, default: [:]][labels] = candidate
            }
        }
        var infos: [MetricInfo] = []
        for (name, series) in latest {
            for (labelsText, value) in series {
                guard let type = MetricType(rawValue: value.type),
                    let decoded = MetricValueCoding.decode(type: value.type, data: value.data)
                else { continue }
                let labels = MetricValueCoding.decodeLabels(labelsText.isEmpty ? nil : labelsText)
                let updated = Date(unixMilliseconds: value.timestamp)
                if let filter {
                    guard filter.matches(name: name, type: type, labels: labels),
                        filter.matches(lastUpdated: updated)
                    else { continue }
                }
                infos.append(MetricInfo(
                    name: name, type: type, labels: labels, help: help[name], value: decoded,
                    lastUpdated: updated))
            }
        }
        return infos.sorted { lhs, rhs in
            lhs.name != rhs.name ? lhs.name < rhs.name : lhs.labels.lexicographicallyPrecedes(rhs.labels)
        }
    }

    /// Rolls raw samples older than `cutoff` (Unix milliseconds; rounded down to a whole interval) up into
    /// per-series aggregates of `intervalMilliseconds`, then deletes them: `chunk` rows per transaction, so the
    /// writer connection is held only briefly. An interval rolled up in several chunks (or runs) is merged into
    /// one aggregate. Returns the raw rows rolled up.
    public func rollUp(
        before cutoff: Int64, intervalMilliseconds interval: Int64, chunk: Int = 5_000
    ) async throws(MonitoringError) -> Int {
        let interval = min(max(interval, 1), ValidTime.latestMilliseconds)
        let cutoff = ValidTime.clamp(milliseconds: cutoff)
        let boundary = cutoff - ((cutoff % interval) + interval) % interval
        var total = 0
        do {
            while true {
                try database.checkWritable()
                let rolled = try await database.pool.write { db -> Int in
                    try Self.rollUpChunk(db, before: boundary, interval: interval, limit: max(chunk, 1))
                }
                total += rolled
                if rolled < chunk { return total }
            }
        } catch {
            throw .databaseError("cannot aggregate the metric samples of \(database.path): \(error)")
        }
    }

    private struct Accumulator {
        var type: String
        var samples = 0
        var min: Double?
        var max: Double?
        var sum: Double?
        var last: Double?
        var lastData = ""
        var lastTimestamp = Int64.min

        mutating func add(number: Double?, data: String, timestamp: Int64) {
            samples += 1
            if let number, !number.isNaN {
                min = Swift.min(min ?? number, number)
                max = Swift.max(max ?? number, number)
                sum = (sum ?? 0) + number
            }
            if timestamp >= lastTimestamp {
                lastTimestamp = timestamp
                lastData = data
                last = number.flatMap { $0.isNaN ? nil : $0 }
            }
        }
    }

    private static func rollUpChunk(_ db: Database, before boundary: Int64, interval: Int64, limit: Int) throws -> Int {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT id, name, value_type, value_data, labels, timestamp FROM monitoring_metrics
                WHERE timestamp >= ? AND timestamp < ? ORDER BY timestamp LIMIT ?
                """,
            // Rows outside ValidTime (written before times were checked) are left alone: never computed with.
            arguments: [ValidTime.earliestMilliseconds, boundary, limit])
        guard !rows.isEmpty else { return 0 }
        struct Key: Hashable {
            var name: String
            var labels: String
            var start: Int64
        }
        var groups: [Key: Accumulator] = [:]
        var ids: [Int64] = []
        ids.reserveCapacity(rows.count)
        for row in rows {
            ids.append(row[0])
            let timestamp: Int64 = row[5]
            let start = timestamp - ((timestamp % interval) + interval) % interval
            let type: String = row[2]
            let data: String = row[3]
            let key = Key(name: row[1], labels: row[4] ?? "", start: start)
            var accumulator = groups[key] ?? Accumulator(type: type)
            accumulator.add(number: numericValue(type: type, data: data), data: data, timestamp: timestamp)
            groups[key] = accumulator
        }
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO monitoring_metric_aggregates
                (name, value_type, labels, interval_start, interval_ms, samples, min, max, sum, last,
                 last_value_data, last_timestamp)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(name, labels, interval_start) DO UPDATE SET
                samples = samples + excluded.samples,
                min = CASE WHEN min IS NULL THEN excluded.min WHEN excluded.min IS NULL THEN min
                           ELSE MIN(min, excluded.min) END,
                max = CASE WHEN max IS NULL THEN excluded.max WHEN excluded.max IS NULL THEN max
                           ELSE MAX(max, excluded.max) END,
                sum = CASE WHEN sum IS NULL THEN excluded.sum WHEN excluded.sum IS NULL THEN sum
                           ELSE sum + excluded.sum END,
                last = CASE WHEN excluded.last_timestamp >= last_timestamp THEN excluded.last ELSE last END,
                last_value_data = CASE WHEN excluded.last_timestamp >= last_timestamp
                                       THEN excluded.last_value_data ELSE last_value_data END,
                last_timestamp = MAX(last_timestamp, excluded.last_timestamp)
            """)
        for (key, value) in groups {
            try upsert.execute(arguments: [
                key.name, value.type, key.labels, key.start, interval, value.samples, value.min, value.max, value.sum,
                value.last, value.lastData, value.lastTimestamp,
            ])
        }
        // The ids of one chunk are contiguous enough to delete in slices of a few hundred parameters.
        for slice in stride(from: 0, to: ids.count, by: 500) {
            let part = ids[slice..<min(slice + 500, ids.count)]
            let placeholders = Array(repeating: "?", count: part.count).joined(separator: ",")
            try db.execute(
                sql: "DELETE FROM monitoring_metrics WHERE id IN (\(placeholders))",
                arguments: StatementArguments(Array(part)))
        }
        return rows.count
    }

    /// The number a sample contributes to an aggregate: a counter's or gauge's value, a histogram's or summary's
    /// sum of observations.
    private static func numericValue(type: String, data: String) -> Double? {
        if let number = Double(data) { return number }
        switch MetricValueCoding.decode(type: type, data: data) {
        case .counter(let value), .gauge(let value): return value
        case .histogram(let histogram): return histogram.sum
        case .summary(let summary): return summary.sum
        case nil: return nil
        }
    }

    /// Deletes aggregates whose interval started before `cutoff`, in small transactions.
    public func deleteAggregates(olderThan cutoff: Date, batchSize: Int = 5_000) async throws(MonitoringError) -> Int {
        try await RetentionSQL.delete(
            from: "monitoring_metric_aggregates", timestampColumn: "interval_start", olderThan: cutoff,
            batchSize: batchSize, database: database)
    }

    /// The number of stored aggregates, optionally of one metric name.
    public func aggregateCount(name: String? = nil) async throws(MonitoringError) -> Int {
        return try await database.read("count the metric aggregates") { db in
            if let name {
                return try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM monitoring_metric_aggregates WHERE name = ?", arguments: [name]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitoring_metric_aggregates") ?? 0
        }
    }
}
