import Foundation
import Logging
import StepflowCore
import StepflowStorage
import Synchronization

/// The spec's `MetricsCollector`: validates each sample, keeps the current value of every series in memory
/// (what `/metrics`, `get_metric` and `list_metrics` read) and queues a row per sample for the batched writer.
///
/// Recording never touches SQLite; a batch takes one short lock. A sample of a known series is found by its
/// fingerprint (see ``SeriesFingerprint``) and costs no allocation beyond its row; names, labels and limits are
/// checked once, when its series is created. Invalid samples are refused one by one with a reason, and a sample
/// whose type differs from the type its name already has is refused too, so that `/metrics` never shows one
/// family with two types.
///
/// NaN and infinities, as Prometheus treats them: gauges may be NaN or ±Inf; counters must be finite and ≥ 0
/// (`increment_counter` refuses a negative or non-finite increment; a snapshot lower than the previous one is a
/// counter reset, as Prometheus reads it). A histogram observation of NaN lands in the `+Inf` bucket only and
/// makes the sum NaN, as the Prometheus client libraries do; ±Inf lands in the first bucket whose bound is not
/// below it. A summary counts NaN observations in its count and sum but leaves them out of its quantiles, which
/// are NaN while the window is empty.
public final class MetricsEngine: MetricsCollector, Sendable {
    /// Prometheus' default histogram buckets.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// The quantiles a summary reports unless configured otherwise.
    public static let defaultQuantiles: [Double] = [0.5, 0.9, 0.99]

    private struct SourceState {
        let source: MetricSource
        /// Set by ``register(_:policy:)``; otherwise the kind's default applies.
        var policy: MetricSourcePolicy?
        /// Set by ``remove(_:)`` until the next ``register(_:policy:)``: samples still in flight from a removed
        /// plugin are refused, so that its series cannot come back after they left.
        var removed = false
        var statistics = MetricSourceStatistics()
    }

    private struct State {
        var table = SeriesTable()
        var accepted: UInt64 = 0
        var refused: UInt64 = 0
        var refusedByReason: [SampleRefusal: UInt64] = [:]
        var lookups: UInt64 = 0
        var hits: UInt64 = 0
        /// Every source that ever recorded or was registered; an index never changes.
        /// The application API's source is always the first, so the observation path needs no lookup.
        var sources: [SourceState] = [SourceState(source: .application)]
        var sourceIndex: [MetricSource: Int32] = [.application: State.applicationSource]
        var expired: [SeriesExpiryReason: UInt64] = [:]
        var refusalLog = RefusalLog()

        static let applicationSource: Int32 = 0

        /// The index of `source`, added on first use.
        mutating func index(of source: MetricSource) -> Int32 {
            if let index = sourceIndex[source] { return index }
            let index = Int32(truncatingIfNeeded: sources.count)
            sources.append(SourceState(source: source))
            sourceIndex[source] = index
            return index
        }

        /// Counts a refusal against the engine and the source; returns a line to log, if one is due.
        mutating func refuse(
            _ reason: SampleRefusal, source: Int32, message: String, now: Int64
        ) -> RefusalLog.Line? {
            refused += 1
            refusedByReason[reason, default: 0] += 1
            guard source >= 0 else { return nil }
            sources[Int(source)].statistics.refused[reason, default: 0] += 1
            return refusalLog.note(source: sources[Int(source)].source, reason: reason, message: message, now: now)
        }
    }

    /// One sample the engine refused.
    public struct RefusedSample: Sendable, Hashable {
        /// Its position in the batch.
        public var position: Int
        /// Its metric name.
        public var name: String
        public var reason: SampleRefusal
        /// What is wrong, naming the rule or the limit.
        public var message: String
    }

    /// What ``record(_:)`` did with a batch.
    public struct RecordReport: Sendable {
        public var accepted: Int
        /// The refused samples, in batch order.
        public var refused: [RefusedSample]
        /// Accepted samples the full write queue had to drop.
        public var dropped: Int
    }

    /// Why a sample cannot be recorded.
    private struct Refusal: Error {
        let reason: SampleRefusal
        let message: String
    }

    private let state: Mutex<State>
    private let queue: MetricsWriteQueue
    private let logger: Logger
    private let now: @Sendable () -> Date
    /// Limits, buckets, quantiles and windows.
    public let options: MetricsEngineOptions

    /// - Parameter now: the time observations are stamped with (tests pass a clock they control).
    public init(
        queue: MetricsWriteQueue, logger: Logger, options: MetricsEngineOptions = .default,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.queue = queue
        self.logger = logger
        self.options = options
        self.now = now
        self.state = Mutex(State(table: SeriesTable(estimatesMemory: options.estimatesSeriesMemory)))
    }

    /// - Parameters:
    ///   - limits: the cardinality limits (`metrics.max_*`).
    ///   - summaryWindow: the sliding window summaries compute quantiles over.
    public convenience init(
        queue: MetricsWriteQueue, logger: Logger, limits: CardinalityLimits, summaryWindow: Duration = .seconds(600)
    ) {
        self.init(queue: queue, logger: logger, options: MetricsEngineOptions(limits: limits, summaryMaxAge: summaryWindow))
    }

    /// The type of metric family `name` while it has series in memory; `nil` otherwise (a new series of that name
    /// may take any type).
    public func familyType(named name: String) -> MetricType? {
        state.withLock { state in
            guard let family = state.table.family(named: name), state.table.families[family].seriesCount > 0 else {
                return nil
            }
            return state.table.families[family].type
        }
    }

    /// Samples accepted and refused since start.
    public var counts: (accepted: UInt64, refused: UInt64) { state.withLock { ($0.accepted, $0.refused) } }
    /// Samples refused since start, by reason.
    public var refusals: [SampleRefusal: UInt64] { state.withLock { $0.refusedByReason } }
    /// The number of series held in memory.
    public var seriesCount: Int { state.withLock { $0.table.count } }
    /// Metric families (names) held in memory, with series or not (see ``SeriesTable``'s sweep of empty ones).
    public var familyCount: Int { state.withLock { $0.table.familyCount } }
    /// An estimate of the memory the in-memory series hold (their text, state and index entries); 0 when
    /// ``MetricsEngineOptions/estimatesSeriesMemory`` is off.
    public var seriesMemoryEstimate: Int { state.withLock { $0.table.estimatedBytes } }
    /// `get_metric` calls answered from memory, and all of them, since start (the spec's cache hit rate).
    public var cacheLookups: (hits: UInt64, lookups: UInt64) { state.withLock { ($0.hits, $0.lookups) } }

    // MARK: MetricsCollector

    public func incrementCounter(_ name: String, by value: UInt64, labels: [Label]) async throws(MonitoringError) {
        try await incrementCounter(name, by: Double(value), labels: labels)
    }

    @_disfavoredOverload
    public func incrementCounter(_ name: String, by value: Double, labels: [Label]) async throws(MonitoringError) {
        guard value >= 0, value.isFinite else {
            throw .invalidMetricValue("counter \(name) cannot be incremented by \(value): increments must be finite and ≥ 0")
        }
        try await observe(name, labels, .counter) { series, _ in
            guard case .counter(let current) = series.value else { return }
            series.value = .counter(current + value)
        }
    }

    public func recordGauge(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError) {
        try await observe(name, labels, .gauge) { series, _ in series.value = .gauge(value) }
    }

    public func recordHistogram(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError) {
        try await observe(name, labels, .histogram) { series, _ in
            guard case .histogram(var histogram) = series.value else { return }
            // The first bucket whose bound is not below the value; NaN (and values past every bound) only +Inf.
            if let index = series.bounds.firstIndex(where: { value <= $0 }) { series.bucketCounts[index] += 1 }
            histogram.count += 1
            histogram.sum += value
            var cumulative: UInt64 = 0
            for index in histogram.buckets.indices {
                cumulative += series.bucketCounts[index]
                histogram.buckets[index].count = cumulative
            }
            series.value = .histogram(histogram)
        }
    }

    public func recordSummary(_ name: String, value: Double, labels: [Label]) async throws(MonitoringError) {
        let quantiles = options.quantiles
        try await observe(name, labels, .summary) { series, now in
            guard case .summary(var summary) = series.value, var window = series.window else { return }
            window.observe(value, at: now)
            summary.count += 1
            summary.sum += value
            summary.quantiles = window.quantiles(quantiles)
            series.window = window
            series.value = .summary(summary)
        }
    }

    /// Records complete samples (e.g. snapshots a collector computed).
    ///
    /// Valid samples are recorded even when others in the batch are refused. When the write queue is full the
    /// call waits for the writer, up to `metrics.backpressure_timeout`, before dropping what is left.
    /// - Throws: `invalidMetricValue` naming the refused samples (the others were recorded), or `queueFull` when
    ///   samples had to be dropped.
    public func recordMetrics(_ metrics: [Metric]) async throws(MonitoringError) {
        try await recordMetrics(metrics, from: .application)
    }

    /// ``recordMetrics(_:)`` on behalf of `source`, which owns the series it creates.
    public func recordMetrics(_ metrics: [Metric], from source: MetricSource) async throws(MonitoringError) {
        let report = await record(MetricBatch(metrics), from: source, waitingForRoom: true)
        if !report.refused.isEmpty {
            let reasons = report.refused.prefix(3).map { "\($0.name): \($0.message)" }.joined(separator: "; ")
            throw .invalidMetricValue(
                "\(report.refused.count) of \(metrics.count) samples refused (\(reasons)); the other \(report.accepted) were recorded")
        }
        if report.dropped > 0 {
            throw MonitoringError(
                .queueFull,
                "\(report.dropped) of \(metrics.count) samples were dropped: the write queue stayed full for "
                    + "metrics.backpressure_timeout (\(options.backpressureTimeout))",
                hint: "the database is slower than the samples arrive; check storage health, or raise "
                    + "metrics.max_queue_size or metrics.backpressure_timeout")
        }
    }

    public func getMetric(_ name: String, labels: [Label]) async throws(MonitoringError) -> MetricValue? {
        value(of: name, labels: labels)
    }

    public func listMetrics(filter: MetricFilter?) async throws(MonitoringError) -> [MetricInfo] {
        snapshot(filter: try filter?.validated())
    }

    // MARK: Beyond the protocol

    /// The current value of one series, or `nil` when it is unknown (the synchronous `get_metric`).
    public func value(of name: String, labels: [Label]) -> MetricValue? {
        let fingerprint = SeriesFingerprint.of(name: name, labels: labels)
        return state.withLock { state -> MetricValue? in
            state.lookups += 1
            guard let index = state.table.find(fingerprint, where: { $0.matches(name: name, labels: labels) }) else {
                return nil
            }
            state.hits += 1
            return state.table[index].value
        }
    }

    /// Records complete samples: each valid one replaces its series' value; each invalid one is refused with a
    /// reason. Never waits: rows the full queue cannot take are dropped and counted.
    @discardableResult
    public func record(_ metrics: [Metric]) -> RecordReport {
        record(MetricBatch(metrics))
    }

    /// Records a batch (e.g. what a plugin emitted) on behalf of `source`, never waiting for room in the queue.
    @discardableResult
    public func record(_ batch: MetricBatch, from source: MetricSource = .application) -> RecordReport {
        var (rows, report, families) = ingest(batch, from: source)
        for family in families { queue.note(family, key: family.name) }
        report.dropped = queue.enqueue(rows)
        rows.removeAll()
        if report.dropped > 0 {
            logger.warning("metrics write queue is full; samples dropped", metadata: ["dropped": "\(report.dropped)"])
        }
        return report
    }

    /// Records a batch; with `waitingForRoom` a full queue makes the call wait (up to the backpressure timeout).
    public func record(
        _ batch: MetricBatch, from source: MetricSource = .application, waitingForRoom: Bool
    ) async -> RecordReport {
        guard waitingForRoom else { return record(batch, from: source) }
        var (rows, report, families) = ingest(batch, from: source)
        for family in families { queue.note(family, key: family.name) }
        report.dropped = await queue.enqueue(waitingForRoom: rows, timeout: options.backpressureTimeout)
        rows.removeAll()
        if report.dropped > 0 {
            logger.warning(
                "metrics write queue stayed full; samples dropped",
                metadata: ["dropped": "\(report.dropped)", "waited": "\(options.backpressureTimeout)"])
        }
        return report
    }

    /// Records a batch from the ingest API: each invalid sample is refused with a reason; the valid ones are
    /// queued all or none and acknowledged as `policy` says. Nothing is applied when storage refuses writes.
    public func ingest(
        _ batch: MetricBatch, policy: IngestPolicy, from source: MetricSource = .http
    ) async -> (report: RecordReport, outcome: IngestOutcome) {
        let nothing = RecordReport(accepted: 0, refused: [], dropped: 0)
        if let failure = queue.writeFailure {
            return (nothing, .unavailable("storage refuses writes (\(failure)); nothing was stored"))
        }
        guard batch.count <= queue.capacity else { return (nothing, .tooLarge(queue.tooLargeMessage(batch.count))) }
        // Room first: the series are changed only for a batch the queue will take.
        guard await queue.waitForRoom(for: batch.count, timeout: policy.roomTimeout) else {
            return (nothing, .unavailable("the write queue stayed full for \(policy.roomTimeout); nothing was stored"))
        }
        var (rows, report, families) = ingest(batch, from: source)
        for family in families { queue.note(family, key: family.name) }
        let outcome = await queue.ingest(rows, policy: policy)
        rows.removeAll()
        if case .unavailable = outcome { report.accepted = 0 }
        return (report, outcome)
    }

    /// Puts back series an earlier run stored, with their latest values, without writing them again: after a
    /// restart, alert rules and `/metrics` see the series they saw before it (docs/alerting.md, "Restarts").
    /// Each is checked as a new sample would be; returns how many were restored. A restored series belongs to
    /// no source until one reports it, and expires after `metrics.series_expiry` unless one does.
    @discardableResult
    public func restore(_ series: [MetricInfo]) -> Int {
        let metrics = series.map { info in
            Metric(
                name: info.name, value: info.value, labels: info.labels, timestamp: info.lastUpdated,
                metadata: info.help.map { ["help": .string($0)] } ?? [:])
        }
        let (rows, _, _) = ingest(MetricBatch(metrics), from: nil)
        return rows.count
    }

    // MARK: Sources and expiry

    /// Sets how the engine treats `source`'s series (a plugin's stale time and series budget); the policy holds
    /// until ``remove(_:)``. An unregistered source gets its kind's default: HTTP series expire after
    /// `metrics.series_expiry`, the application's, swift-metrics' and the host's own never do.
    public func register(_ source: MetricSource, policy: MetricSourcePolicy) {
        state.withLock { state in
            let index = state.index(of: source)
            state.sources[Int(index)].policy = policy
            state.sources[Int(index)].removed = false
        }
    }

    /// Removes every series `source` owns at once (its plugin was removed or disabled) and forgets its policy;
    /// its statistics stay. Returns how many series left.
    @discardableResult
    public func remove(_ source: MetricSource) -> Int {
        let removed = state.withLock { state -> Int in
            let index = state.index(of: source)
            state.sources[Int(index)].policy = nil
            state.sources[Int(index)].removed = true
            let removed = state.table.removeAll { $0.owner == index }.count
            state.sources[Int(index)].statistics.series = 0
            state.expired[.sourceRemoved, default: 0] += UInt64(removed)
            return removed
        }
        if removed > 0 {
            logger.info("series of a removed source left memory and /metrics", metadata: [
                "source": "\(source)", "series": "\(removed)",
            ])
        }
        return removed
    }

    /// Removes the series whose source has not reported them for their stale time, and logs the refusal counts
    /// that came due. Called periodically (``MetricsExpiryJob``); returns how many series left.
    @discardableResult
    public func expireStale() -> Int {
        let now = self.now().unixMilliseconds
        let defaultExpiry = options.seriesExpiry?.clampedMilliseconds
        let (removedBySource, lines) = state.withLock { state -> ([Int32: Int], [RefusalLog.Line]) in
            let staleAfter: [Int64?] = state.sources.map { source in
                Self.policy(of: source, defaultExpiry: options.seriesExpiry).staleAfter?.clampedMilliseconds
            }
            let removed = state.table.removeAll { series in
                let limit = series.owner >= 0 ? staleAfter[Int(series.owner)] : defaultExpiry
                guard let limit else { return false }
                return now &- series.lastSeen > limit
            }
            var bySource: [Int32: Int] = [:]
            for series in removed { bySource[series.owner, default: 0] += 1 }
            for (index, count) in bySource where index >= 0 { state.sources[Int(index)].statistics.series -= count }
            state.expired[.stale, default: 0] += UInt64(removed.count)
            return (bySource, state.refusalLog.due(now: now))
        }
        log(lines)
        for (index, count) in removedBySource.sorted(by: { $0.key < $1.key }) {
            let label = index >= 0 ? state.withLock { $0.sources[Int(index)].source.label } : "restored"
            logger.debug("stale series expired", metadata: ["source": "\(label)", "series": "\(count)"])
        }
        return removedBySource.values.reduce(0, +)
    }

    /// Series that left memory since start, by reason.
    public var expiredSeries: [SeriesExpiryReason: UInt64] { state.withLock { $0.expired } }

    /// The series `source` owns now and the samples of it refused since start.
    public func statistics(of source: MetricSource) -> MetricSourceStatistics {
        state.withLock { state in
            state.sourceIndex[source].map { state.sources[Int($0)].statistics } ?? MetricSourceStatistics()
        }
    }

    /// Every source that recorded, with its statistics, in order of first use.
    public var sources: [(source: MetricSource, statistics: MetricSourceStatistics)] {
        state.withLock { $0.sources.map { ($0.source, $0.statistics) } }
    }

    private static func policy(of source: SourceState, defaultExpiry: Duration?) -> MetricSourcePolicy {
        if let policy = source.policy { return policy }
        switch source.source.kind {
        case .http, .plugin: return MetricSourcePolicy(staleAfter: defaultExpiry)
        case .application, .swiftMetrics, .host: return MetricSourcePolicy()
        }
    }

    /// Logs refusal lines outside the lock.
    private func log(_ lines: [RefusalLog.Line]) {
        for line in lines {
            var metadata: Logger.Metadata = ["reason": "\(line.reason.rawValue)"]
            if line.source.kind == .plugin {
                metadata["plugin"] = "\(line.source.name)"
            } else {
                metadata["source"] = "\(line.source.label)"
            }
            if line.first {
                metadata["first"] = "\(line.message)"
                metadata["next"] = "counted, and logged at most once a minute"
                logger.warning("samples refused", metadata: metadata)
            } else {
                metadata["refused"] = "\(line.count)"
                metadata["latest"] = "\(line.message)"
                logger.warning("samples still refused", metadata: metadata)
            }
        }
    }

    /// Every series passing `filter`, sorted by name then labels.
    ///
    /// The series are copied under the lock and matched outside it, so a slow filter (a long regex over many
    /// series) never holds up ingest or another request.
    public func snapshot(filter: MetricFilter? = nil) -> [MetricInfo] {
        // Under the lock only a copy-on-write copy of the table (retains, no walk) and its sorted order (sorted
        // again only after series were added); the walk and the values are built outside it, so `/metrics` of a
        // large table does not hold up ingest. The next write to the table pays one copy of its arrays.
        let (table, order) = state.withLock { state in
            let order = state.table.sortedIndices()
            return (state.table, order)
        }
        var all: [MetricInfo] = []
        all.reserveCapacity(filter?.name == nil ? order.count : 16)
        for index in order {
            let series = table[Int(index)]
            let identity = series.identity
            if let name = filter?.name, identity.name != name { continue }
            if let prefix = filter?.namePrefix, !identity.name.hasPrefix(prefix) { continue }
            all.append(MetricInfo(
                name: identity.name, type: identity.type, labels: identity.labels,
                help: table.families[identity.family].help, value: series.value,
                lastUpdated: Date(unixMilliseconds: series.lastUpdated)))
        }
        guard let filter else { return all }
        return all.filter {
            filter.matches(name: $0.name, type: $0.type, labels: $0.labels) && filter.matches(lastUpdated: $0.lastUpdated)
        }
    }

    /// ``snapshot(filter:)`` within a time budget: the matching stops, and the query is refused, once `budget`
    /// has passed (checked every 256 series), so that one query cannot occupy the host however many series it
    /// walks (`http.query_timeout`).
    ///
    /// - Throws: `invalidQuery` naming the budget, when it is exceeded.
    public func snapshot(filter: MetricFilter, budget: Duration) throws(MonitoringError) -> [MetricInfo] {
        let filter = try filter.validated()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: budget)
        let all = snapshot(filter: MetricFilter(name: filter.name, namePrefix: filter.namePrefix))
        var matched: [MetricInfo] = []
        for (position, info) in all.enumerated() {
            if position % 256 == 255, clock.now > deadline {
                throw .invalidQuery(
                    "the query walked \(position + 1) of \(all.count) series without finishing within "
                        + "http.query_timeout (\(budget))",
                    hint: "narrow the selector: a metric name, or an exact label before the regexes")
            }
            if filter.matches(name: info.name, type: info.type, labels: info.labels), filter.matches(lastUpdated: info.lastUpdated) {
                matched.append(info)
            }
        }
        return matched
    }

    // MARK: Ingest

    /// Validates and applies every sample of `batch` under one lock on behalf of `source` (`nil`: restored
    /// series, owned by nobody); returns the rows to queue, the report and the families to store.
    private func ingest(_ batch: MetricBatch, from source: MetricSource?) -> ([MetricRow], RecordReport, [MetricFamilyRow]) {
        var rows: [MetricRow] = []
        rows.reserveCapacity(batch.count)
        var refused: [RefusedSample] = []
        var families: [MetricFamilyRow] = []
        var lines: [RefusalLog.Line] = []
        let now = self.now().unixMilliseconds
        state.withLock { state in
            let writer = Writer(
                source: source.map { state.index(of: $0) } ?? -1, now: now, defaultExpiry: options.seriesExpiry)
            for position in batch.indices {
                do throws(Refusal) {
                    rows.append(try apply(batch, at: position, by: writer, to: &state, families: &families))
                } catch {
                    if let line = state.refuse(error.reason, source: writer.source, message: error.message, now: now) {
                        lines.append(line)
                    }
                    refused.append(RefusedSample(
                        position: position, name: batch.name(at: position), reason: error.reason, message: error.message))
                }
            }
            state.accepted += UInt64(rows.count)
        }
        log(lines)
        let report = RecordReport(accepted: rows.count, refused: refused, dropped: 0)
        return (rows, report, families)
    }

    /// Who applies a batch, and when.
    private struct Writer {
        /// The source's index; -1 for restored series.
        let source: Int32
        /// Unix milliseconds on the engine's clock.
        let now: Int64
        let defaultExpiry: Duration?
    }

    /// Checks that `writer` may write the existing series at `index`: its owner, or the first reporter of a
    /// restored series (which then owns it).
    private func checkOwner(of index: Int, by writer: Writer, in state: inout State) throws(Refusal) {
        let owner = state.table[index].owner
        guard owner != writer.source, writer.source >= 0 else { return }
        let identity = state.table[index].identity
        if owner >= 0 {
            throw Refusal(
                reason: .ownedByOtherSource,
                message: "\(identity.name)\(Self.labelText(identity.labels)) belongs to "
                    + "\(state.sources[Int(owner)].source), which created it; "
                    + "\(state.sources[Int(writer.source)].source) cannot write it (give one of them distinct labels, "
                    + "for example with the plugin entry's 'labels:')")
        }
        try checkBudget(of: writer, for: identity.name, in: state)
        state.table[index].owner = writer.source
        state.sources[Int(writer.source)].statistics.series += 1
    }

    /// Refuses a series past the source's own limit.
    private func checkBudget(of writer: Writer, for name: String, in state: State) throws(Refusal) {
        guard writer.source >= 0 else { return }
        let source = state.sources[Int(writer.source)]
        guard let limit = Self.policy(of: source, defaultExpiry: writer.defaultExpiry).maxSeries,
            source.statistics.series >= limit
        else { return }
        let key = source.source.kind == .plugin ? "budgets.series" : "series limit"
        throw Refusal(
            reason: .sourceSeriesLimit,
            message: "\(source.source) already owns \(limit) series, its \(key); a new series of \(name) was refused")
    }


    /// `{a="1",b="2"}`, or nothing without labels.
    private static func labelText(_ labels: [Label]) -> String {
        labels.isEmpty ? "" : "{" + labels.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    private func apply(
        _ batch: MetricBatch, at position: Int, by writer: Writer, to state: inout State,
        families: inout [MetricFamilyRow]
    ) throws(Refusal) -> MetricRow {
        let sample = batch.samples[position]
        if writer.source >= 0, state.sources[Int(writer.source)].removed {
            throw Refusal(
                reason: .sourceRemoved,
                message: "\(state.sources[Int(writer.source)].source) was removed; a sample it sent after that was dropped")
        }
        guard ValidTime.contains(milliseconds: sample.timestamp) else {
            throw Refusal(
                reason: .timestampOutOfRange,
                message: "\(MetricNameRules.shown(batch.name(at: position))) has timestamp \(sample.timestamp) ms, outside \(ValidTime.rangeText)")
        }
        if let help = batch.help(at: position), help.utf8.count > options.limits.maxHelpLength {
            throw Refusal(
                reason: .textTooLong,
                message: "the HELP text of \(MetricNameRules.shown(batch.name(at: position))) is \(help.utf8.count) bytes long, more than "
                    + "limits.max_text_length (\(options.limits.maxHelpLength))")
        }
        try checkValue(of: batch, at: position)
        let fingerprint = batch.fingerprint(at: position)
        let value = batch.value(at: position)
        let index: Int
        if let found = state.table.find(fingerprint, where: { $0.matches(batch, at: position) }) {
            index = found
            let identity = state.table[index].identity
            guard identity.type == sample.type else {
                throw Refusal(
                    reason: .typeClash,
                    message: "\(identity.name) is a \(identity.type); a \(sample.type) sample cannot share its name")
            }
            try checkOwner(of: index, by: writer, in: &state)
            state.table[index].lastSeen = max(state.table[index].lastSeen, writer.now)
            if sample.timestamp >= state.table[index].lastUpdated {
                state.table[index].value = value
                state.table[index].lastUpdated = sample.timestamp
            }
        } else {
            index = try createSeries(
                name: batch.name(at: position), labels: batch.labels(at: position), type: sample.type,
                fingerprint: fingerprint, value: value, timestamp: sample.timestamp, by: writer, in: &state,
                families: &families)
        }
        let identity = state.table[index].identity
        if let help = batch.help(at: position), state.table.setHelp(help, ofFamily: identity.family) {
            families.append(MetricFamilyRow(name: identity.name, type: identity.type, help: help))
        }
        var metadata: String?
        if var extra = batch.metadata[position] {
            extra["help"] = nil
            if !extra.isEmpty { metadata = JSONValue.object(extra).jsonText }
        }
        return MetricRow(
            name: identity.name, type: identity.type, value: value, labels: identity.labelsJSON,
            timestamp: sample.timestamp, metadata: metadata)
    }

    /// The most buckets of a histogram sample, or quantiles of a summary sample (docs/configuration.md, "Limits");
    /// a sample with more is refused. Prometheus' native histograms stop at 160 buckets by default.
    public static let maxPartsPerSample: UInt32 = 1_024

    /// Refuses values Prometheus cannot represent: negative or non-finite counters, histograms whose buckets are
    /// not ascending and cumulative, summary quantiles outside 0…1, more than ``maxPartsPerSample`` of them.
    private func checkValue(of batch: MetricBatch, at position: Int) throws(Refusal) {
        let sample = batch.samples[position]
        func invalid(_ message: String) -> Refusal { Refusal(reason: .invalid, message: message) }
        if sample.partCount > Self.maxPartsPerSample {
            throw invalid(
                "\(MetricNameRules.shown(batch.name(at: position))) has \(sample.partCount) "
                    + "\(sample.type == .summary ? "quantiles" : "buckets"), more than \(Self.maxPartsPerSample)")
        }
        switch sample.type {
        case .counter:
            guard sample.value >= 0, sample.value.isFinite else {
                throw invalid("counter \(MetricNameRules.shown(batch.name(at: position))) must be a finite number ≥ 0, got \(sample.value)")
            }
        case .gauge:
            break
        case .histogram:
            var previous = -Double.infinity
            var previousCount: UInt64 = 0
            for part in batch.parts[Int(sample.partStart)..<Int(sample.partStart + sample.partCount)] {
                if part.key.isNaN || part.key <= previous {
                    throw invalid("histogram \(MetricNameRules.shown(batch.name(at: position))) bucket bounds must be ascending numbers")
                }
                if part.bits < previousCount || part.bits > sample.count {
                    throw invalid(
                        "histogram \(MetricNameRules.shown(batch.name(at: position))) bucket counts must be cumulative and at most count")
                }
                previous = part.key
                previousCount = part.bits
            }
        case .summary:
            for part in batch.parts[Int(sample.partStart)..<Int(sample.partStart + sample.partCount)]
            where !(0...1).contains(part.key) {
                throw invalid("summary \(MetricNameRules.shown(batch.name(at: position))) quantile \(part.key) lies outside 0…1")
            }
        }
    }

    /// Validates a new series' name, labels and limits, then adds it (and its family, when new).
    private func createSeries(
        name: String, labels: [Label], type: MetricType, fingerprint: UInt64, value: MetricValue, timestamp: Int64,
        by writer: Writer, in state: inout State, families: inout [MetricFamilyRow]
    ) throws(Refusal) -> Int {
        let limits = options.limits
        // First: the duplicate check below is quadratic in the label count, so a sample with a million labels
        // must be refused before it.
        if labels.count > limits.maxLabelsPerSeries {
            throw Refusal(
                reason: .tooManyLabels,
                message: "\(name) has \(labels.count) labels, more than metrics.max_labels_per_series "
                    + "(\(limits.maxLabelsPerSeries))")
        }
        if name.utf8.count > limits.maxNameLength {
            throw Refusal(
                reason: .textTooLong,
                message: "metric name '\(name.prefix(64))…' is \(name.utf8.count) bytes long, more than "
                    + "limits.max_name_length (\(limits.maxNameLength))")
        }
        if let long = labels.first(where: { $0.name.utf8.count > limits.maxNameLength }) {
            throw Refusal(
                reason: .textTooLong,
                message: "label name '\(long.name.prefix(64))…' of \(name) is \(long.name.utf8.count) bytes long, more "
                    + "than limits.max_name_length (\(limits.maxNameLength))")
        }
        if !MetricNameRules.isValidMetricName(name) {
            throw Refusal(reason: .invalid, message: "metric name '\(name)' does not match [a-zA-Z_:][a-zA-Z0-9_:]*")
        }
        for (position, label) in labels.enumerated() {
            if !MetricNameRules.isValidLabelName(label.name) {
                throw Refusal(
                    reason: .invalid,
                    message: "label name '\(label.name)' of \(name) does not match [a-zA-Z_][a-zA-Z0-9_]* (or starts with __)")
            }
            if labels[..<position].contains(where: { $0.name == label.name }) {
                throw Refusal(reason: .invalid, message: "label '\(label.name)' appears twice on \(name)")
            }
            if type == .histogram, label.name == "le" {
                throw Refusal(reason: .invalid, message: "histogram \(name) must not carry the reserved label 'le'")
            }
            if type == .summary, label.name == "quantile" {
                throw Refusal(
                    reason: .invalid, message: "summary \(name) must not carry the reserved label 'quantile'")
            }
        }
        let existingFamily = state.table.family(named: name)
        if let existingFamily, state.table.families[existingFamily].type != type,
            state.table.families[existingFamily].seriesCount > 0
        {
            let existing = state.table.families[existingFamily].type
            throw Refusal(
                reason: .typeClash, message: "\(name) is a \(existing); a \(type) sample cannot share its name")
        }
        if let long = labels.first(where: { $0.value.utf8.count > limits.maxLabelValueLength }) {
            throw Refusal(
                reason: .labelValueTooLong,
                message: "label '\(long.name)' of \(name) is \(long.value.utf8.count) bytes long, more than "
                    + "metrics.max_label_value_length (\(limits.maxLabelValueLength))")
        }
        if state.table.count >= limits.maxSeries {
            throw Refusal(
                reason: .seriesLimit,
                message: "the host already holds \(limits.maxSeries) series, the metrics.max_series limit; "
                    + "a new series of \(name) was refused")
        }
        if let existingFamily, state.table.families[existingFamily].seriesCount >= limits.maxSeriesPerMetric {
            throw Refusal(
                reason: .seriesLimit,
                message: "\(name) already has \(limits.maxSeriesPerMetric) series, the metrics.max_series_per_metric "
                    + "limit; a new series was refused")
        }
        try checkBudget(of: writer, for: name, in: state)
        let family: Int
        if let existingFamily {
            family = existingFamily
            if state.table.families[existingFamily].type != type {
                // Its series all expired: the name is free for another type.
                state.table.retype(family: existingFamily, to: type)
                families.append(MetricFamilyRow(name: name, type: type, help: nil))
            }
        } else {
            family = state.table.addFamily(name: name, type: type)
            families.append(MetricFamilyRow(name: name, type: type, help: nil))
        }
        let identity = SeriesIdentity(
            name: name, labels: labels, type: type, fingerprint: fingerprint, family: family,
            labelsJSON: MetricRow.labelsJSON(labels.sorted()))
        var series = SeriesState(identity: identity, value: value, lastUpdated: timestamp)
        series.owner = writer.source
        series.lastSeen = writer.now
        if writer.source >= 0 { state.sources[Int(writer.source)].statistics.series += 1 }
        switch type {
        case .histogram:
            series.bounds = options.bounds(of: name)
            series.bucketCounts = Array(repeating: 0, count: series.bounds.count)
        case .summary:
            series.window = SlidingWindow(
                maxAge: options.summaryMaxAge.clampedMilliseconds, capacity: options.summaryMaxSamples)
        case .counter, .gauge:
            break
        }
        return state.table.add(series)
    }

    /// Applies one observation to its series (creating it when new) and queues the series' new value.
    private func observe(
        _ name: String, _ labels: [Label], _ type: MetricType, _ apply: (inout SeriesState, Int64) -> Void
    ) async throws(MonitoringError) {
        let now = self.now().unixMilliseconds
        let fingerprint = SeriesFingerprint.of(name: name, labels: labels)
        var families: [MetricFamilyRow] = []
        var line: RefusalLog.Line?
        let result = state.withLock { state -> Result<MetricRow, Refusal> in
            let writer = Writer(source: State.applicationSource, now: now, defaultExpiry: options.seriesExpiry)
            var index = state.table.find(fingerprint, where: { $0.matches(name: name, labels: labels) })
            do throws(Refusal) {
                if let found = index {
                    let existing = state.table[found].identity.type
                    if existing != type {
                        throw Refusal(
                            reason: .typeClash, message: "\(name) is a \(existing); a \(type) sample cannot share its name")
                    }
                    try checkOwner(of: found, by: writer, in: &state)
                } else {
                    index = try createSeries(
                        name: name, labels: labels, type: type, fingerprint: fingerprint,
                        value: emptyValue(type, name: name), timestamp: now, by: writer, in: &state, families: &families)
                }
            } catch {
                line = state.refuse(error.reason, source: writer.source, message: error.message, now: now)
                return .failure(error)
            }
            guard let series = index else { return .failure(Refusal(reason: .invalid, message: "\(name): no series")) }
            state.table[series].lastSeen = max(state.table[series].lastSeen, now)
            apply(&state.table[series], now)
            state.table[series].lastUpdated = max(state.table[series].lastUpdated, now)
            state.accepted += 1
            let identity = state.table[series].identity
            return .success(MetricRow(
                name: identity.name, type: identity.type, value: state.table[series].value,
                labels: identity.labelsJSON, timestamp: now, metadata: nil))
        }
        log(line.map { [$0] } ?? [])
        let row: MetricRow
        switch result {
        case .success(let made): row = made
        case .failure(let refusal): throw .invalidMetricValue(refusal.message)
        }
        for family in families { queue.note(family, key: family.name) }
        if await queue.enqueue(waitingForRoom: [row], timeout: options.backpressureTimeout) > 0 {
            logger.warning("metrics write queue is full; sample dropped", metadata: ["metric": "\(name)"])
        }
    }

    /// The value a series fed by observations starts from.
    private func emptyValue(_ type: MetricType, name: String) -> MetricValue {
        switch type {
        case .counter: return .counter(0)
        case .gauge: return .gauge(0)
        case .histogram:
            return .histogram(HistogramValue(
                sum: 0, count: 0, buckets: options.bounds(of: name).map { HistogramBucket(upperBound: $0, count: 0) }))
        case .summary:
            return .summary(SummaryValue(
                sum: 0, count: 0, quantiles: options.quantiles.map { Quantile(quantile: $0, value: .nan) }))
        }
    }
}
