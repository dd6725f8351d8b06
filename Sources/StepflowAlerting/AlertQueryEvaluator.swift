import Foundation
import StepflowCore
import StepflowHealth
import StepflowMetrics
import StepflowStorage
import Synchronization

/// What one evaluation tick has read, shared by the rules it evaluates: rules over the same family and range read
/// its stored points once per tick, and the engine's current series once.
public final class EvaluationCache: Sendable {
    private let stored = Mutex<[String: [StoredSeries]]>([:])
    private let current = Mutex<[String: [MetricInfo]]>([:])

    public init() {}

    func storedSeries(
        _ family: String, from start: Int64, to end: Int64, read: () async throws(MonitoringError) -> [StoredSeries]
    ) async throws(MonitoringError) -> [StoredSeries] {
        let key = "\(family)|\(start)|\(end)"
        if let hit = stored.withLock({ $0[key] }) { return hit }
        let series = try await read()
        stored.withLock { $0[key] = series }
        return series
    }

    func currentSeries(_ key: String, read: () -> [MetricInfo]) -> [MetricInfo] {
        if let hit = current.withLock({ $0[key] }) { return hit }
        let infos = read()
        current.withLock { $0[key] = infos }
        return infos
    }
}

/// Answers ``AlertQuery``s from the host's data: current series from the metrics engine, stored points from
/// `monitoring_metrics` (and its aggregates), log entries from `monitoring_logs`, and the latest health results.
public struct AlertQueryEvaluator: Sendable {
    public let engine: MetricsEngine
    public let metrics: MetricStore
    public let logs: LogStore
    public let health: HealthMonitor?
    /// How old a series' latest value may be for an instant selector to still see it (Prometheus' lookback delta).
    public var lookback: Duration

    public init(
        engine: MetricsEngine, metrics: MetricStore, logs: LogStore, health: HealthMonitor?,
        lookback: Duration = .seconds(300)
    ) {
        self.engine = engine
        self.metrics = metrics
        self.logs = logs
        self.health = health
        self.lookback = lookback
    }

    /// The query's series at `time`, sorted by labels.
    ///
    /// - Throws: `invalidQuery` when the query cannot be answered (an instant selector on a histogram family, two
    ///   result series with the same labels), `databaseError` when storage fails.
    ///
    /// - Parameter cache: shared by the queries of one tick (all at the same `time`), so that they read each family
    ///   once; a new cache per call when `nil`.
    public func evaluate(
        _ query: AlertQuery, at time: Date, cache: EvaluationCache? = nil
    ) async throws(MonitoringError) -> [QuerySeries] {
        let result = try await value(query, at: time, cache: cache ?? EvaluationCache())
        return result.sorted { $0.labels.lexicographicallyPrecedes($1.labels) }
    }

    private func value(_ query: AlertQuery, at time: Date, cache: EvaluationCache) async throws(MonitoringError) -> [QuerySeries] {
        switch query {
        case .number(let value):
            return [QuerySeries(labels: [], value: .number(value))]
        case .instant(let selector):
            return try instant(selector, at: time, cache: cache)
        case .range(let function, let selector):
            return try await range(function, selector, at: time, cache: cache)
        case .aggregate(let aggregation, let by, let inner):
            return Self.aggregate(aggregation, by: by, try await value(inner, at: time, cache: cache))
        case .binary(let op, let lhs, let rhs):
            return Self.binary(op, try await value(lhs, at: time, cache: cache), try await value(rhs, at: time, cache: cache))
        case .logCount(let selector, let range, let by):
            return try await logCount(selector, range: range, by: by, at: time)
        case .lastLogMessage(let selector, let range, let by):
            return try await lastLogMessage(selector, range: range, by: by, at: time)
        case .health(let component):
            return await healthStates(component)
        }
    }

    // MARK: Metrics

    /// The families an exposed-series selector can draw from: `x_count` may be `x_count` itself or family `x`.
    private func candidateFamilies(_ selector: MetricSelector) -> [String]? {
        selector.name.map(ExposedSample.familyName(of:))
    }

    private func instant(_ selector: MetricSelector, at time: Date, cache: EvaluationCache) throws(MonitoringError) -> [QuerySeries] {
        let cutoff = time.addingTimeInterval(-lookback.inSeconds)
        var infos: [MetricInfo] = []
        let engine = self.engine
        if let families = candidateFamilies(selector) {
            for family in families {
                infos += cache.currentSeries(family) {
                    engine.snapshot(filter: MetricFilter(name: family, since: cutoff, until: time))
                }
            }
        } else {
            infos = cache.currentSeries("*") { engine.snapshot(filter: MetricFilter(since: cutoff, until: time)) }
        }
        var series: [QuerySeries] = []
        for info in infos {
            for sample in info.value.exposed(name: info.name, labels: info.labels)
            where selector.matches(name: sample.name, labels: sample.labels) {
                series.append(QuerySeries(labels: sample.labels, value: .number(sample.value)))
            }
        }
        return try Self.unique(series, what: selector.description)
    }

    private func range(
        _ function: RangeFunction, _ selector: RangeSelector, at time: Date, cache: EvaluationCache
    ) async throws(MonitoringError) -> [QuerySeries] {
        let end = time.unixMilliseconds
        let start = end - min(selector.range.clampedMilliseconds, end)
        let families: [String]
        if let named = candidateFamilies(selector.selector) {
            families = named
        } else {
            // A selector without a name: the families the engine knows whose exposed names it can match.
            let engine = self.engine
            families = Array(Set(cache.currentSeries("*all") { engine.snapshot() }.map(\.name))).sorted().filter { family in
                [family, family + "_bucket", family + "_sum", family + "_count"].contains { name in
                    selector.selector.nameMatchers.allSatisfy { $0.matches(value: name) }
                        && (selector.selector.name == nil || selector.selector.name == name)
                }
            }
        }
        var byLabels: [[Label]: RangePoints] = [:]
        let metrics = self.metrics
        for family in families {
            let read = try await cache.storedSeries(family, from: start, to: end) { () async throws(MonitoringError) in
                try await metrics.series(named: family, from: start, to: end)
            }
            for stored in read {
                for point in stored.points {
                    let exposed = point.value.exposed(name: stored.name, labels: stored.labels)
                    for sample in exposed where selector.selector.matches(name: sample.name, labels: sample.labels) {
                        var entry = RangePoints.Point(timestamp: point.timestamp, value: sample.value)
                        if let aggregate = point.aggregate, sample.name == stored.name || sample.name == stored.name + "_sum" {
                            // The interval's statistics are over values (counters, gauges) or sums (histograms, summaries).
                            entry.count = aggregate.samples
                            entry.sum = aggregate.sum ?? .nan
                            entry.min = aggregate.min ?? .nan
                            entry.max = aggregate.max ?? .nan
                        }
                        byLabels[sample.labels, default: RangePoints(points: [], start: start, end: end)].points.append(entry)
                    }
                }
            }
        }
        var series: [QuerySeries] = []
        for (labels, points) in byLabels {
            var sorted = points
            sorted.points.sort { $0.timestamp < $1.timestamp }
            if let value = sorted.apply(function) { series.append(QuerySeries(labels: labels, value: .number(value))) }
        }
        return series
    }

    // MARK: Combining

    static func aggregate(_ aggregation: Aggregation, by: [String], _ input: [QuerySeries]) -> [QuerySeries] {
        var groups: [[Label]: [Double]] = [:]
        for series in input {
            guard let value = series.value.number else { continue }
            let key = by.compactMap { name -> Label? in
                let value = series.label(name)
                return value.isEmpty ? nil : Label(name, value)
            }.sorted()
            groups[key, default: []].append(value)
        }
        return groups.map { labels, values in
            let result: Double
            switch aggregation {
            case .sum: result = values.reduce(0, +)
            case .avg: result = values.reduce(0, +) / Double(values.count)
            case .min: result = values.filter { !$0.isNaN }.min() ?? .nan
            case .max: result = values.filter { !$0.isNaN }.max() ?? .nan
            case .count: result = Double(values.count)
            }
            return QuerySeries(labels: labels, value: .number(result))
        }
    }

    /// One-to-one matching on whole label sets; a side that is one unlabeled series (a constant) applies to all.
    static func binary(_ op: BinaryOperator, _ lhs: [QuerySeries], _ rhs: [QuerySeries]) -> [QuerySeries] {
        func scalar(_ side: [QuerySeries]) -> Double? {
            side.count == 1 && side[0].labels.isEmpty ? side[0].value.number : nil
        }
        if let right = scalar(rhs) {
            return lhs.compactMap { series in
                series.value.number.map { QuerySeries(labels: series.labels, value: .number(op.apply($0, right))) }
            }
        }
        if let left = scalar(lhs) {
            return rhs.compactMap { series in
                series.value.number.map { QuerySeries(labels: series.labels, value: .number(op.apply(left, $0))) }
            }
        }
        var right: [[Label]: Double] = [:]
        for series in rhs { right[series.labels] = series.value.number }
        return lhs.compactMap { series in
            guard let a = series.value.number, let b = right[series.labels] else { return nil }
            return QuerySeries(labels: series.labels, value: .number(op.apply(a, b)))
        }
    }

    /// `series`, or an error when two carry the same labels (they would be one alert instance).
    static func unique(_ series: [QuerySeries], what: String) throws(MonitoringError) -> [QuerySeries] {
        var seen = Set<[Label]>()
        for item in series where !seen.insert(item.labels).inserted {
            let labels = item.labels.map { "\($0.name)=\(MetricSelector.quote($0.value))" }.joined(separator: ",")
            throw .invalidQuery(
                "\(what) selects two series with the labels {\(labels)} once the metric name is dropped",
                hint: "add a matcher on __name__ or a label so that each alert instance has its own labels")
        }
        return series
    }

    // MARK: Logs and health

    /// The rows of the logs `selector` matches over the range, with the fields `by` and `extra` name.
    private func logRows(
        _ selector: LogSelector, range: Duration, by: [String], extra: [String], at time: Date
    ) async throws(MonitoringError) -> (fields: [String], rows: [[String]]) {
        let equal = selector.matchers.filter { $0.op == .equal }.map { (field: $0.name, value: $0.value) }
        let filtered = selector.matchers.filter { $0.op != .equal }
        var fields = by
        for name in filtered.map(\.name) + extra where !fields.contains(name) { fields.append(name) }
        let scan = try await logs.scan(
            since: time.addingTimeInterval(-range.inSeconds), until: time, levels: selector.levels, equal: equal,
            fields: fields)
        let positions = filtered.map { matcher in fields.firstIndex(of: matcher.name)! }
        let rows = scan.rows.filter { row in
            zip(filtered, positions).allSatisfy { matcher, position in matcher.matches(value: row[position]) }
        }
        return (fields, rows)
    }

    private static func groupLabels(_ row: [String], fields: [String], by: [String]) -> [Label] {
        by.compactMap { name -> Label? in
            let value = row[fields.firstIndex(of: name)!]
            return value.isEmpty ? nil : Label(name, value)
        }
    }

    private func logCount(_ selector: LogSelector, range: Duration, by: [String], at time: Date) async throws(MonitoringError) -> [QuerySeries] {
        let (fields, rows) = try await logRows(selector, range: range, by: by, extra: [], at: time)
        guard !by.isEmpty else {
            // Without grouping a count is always there, 0 included, so that "no errors" is a value too.
            return [QuerySeries(labels: Self.fixedLabels(selector), value: .number(Double(rows.count)))]
        }
        var counts: [[Label]: Int] = [:]
        for row in rows { counts[Self.groupLabels(row, fields: fields, by: by), default: 0] += 1 }
        return counts.map { QuerySeries(labels: $0.key, value: .number(Double($0.value))) }
    }

    private func lastLogMessage(_ selector: LogSelector, range: Duration, by: [String], at time: Date) async throws(MonitoringError) -> [QuerySeries] {
        let (fields, rows) = try await logRows(selector, range: range, by: by, extra: ["message"], at: time)
        let message = fields.firstIndex(of: "message")!
        var newest: [[Label]: String] = [:]
        for row in rows {  // newest first: keep the first row of each group
            let labels = by.isEmpty ? Self.fixedLabels(selector) : Self.groupLabels(row, fields: fields, by: by)
            if newest[labels] == nil { newest[labels] = row[message] }
        }
        return newest.map { QuerySeries(labels: $0.key, value: .text($0.value)) }
    }

    /// The fields an ungrouped log term fixes with `=` (other than the message), as its result's labels.
    private static func fixedLabels(_ selector: LogSelector) -> [Label] {
        selector.matchers.filter { $0.op == .equal && $0.name != "message" }.map { Label($0.name, $0.value) }.sorted()
    }

    private func healthStates(_ component: String?) async -> [QuerySeries] {
        guard let health, let system = try? await health.getSystemHealth() else {
            return component.map { [QuerySeries(labels: [Label("component", $0)], value: .text("unknown"))] } ?? []
        }
        if let component {
            let state = system.components.first { $0.component == component }?.status ?? .unknown
            return [QuerySeries(labels: [Label("component", component)], value: .text(state.rawValue))]
        }
        return system.components.map { QuerySeries(labels: [Label("component", $0.component)], value: .text($0.status.rawValue)) }
    }
}
