import Foundation
import Logging
import StepflowCore
import StepflowScheduling
import StepflowStorage

/// Sends what was stored since its last run to one receiver, from its position in `monitoring_export_positions`
/// (docs/exporters.md, "Delivery").
///
/// - The position moves past an item only once the receiver took it or refused it for good, so an outage or a
///   restart loses nothing, and nothing acknowledged is sent again. Items sent in a request whose answer was lost
///   are sent again; receivers that deduplicate (Elasticsearch `create` with the document's id) keep one.
/// - Items refused for now (429, 5xx per item) are sent again up to ``maxAttempts`` times in the run, after
///   `retryDelay`, doubled each time, or after the receiver's `Retry-After` (at most ``maxRetryAfter``); what
///   is still refused ends the run as a failure, and the scheduler backs off. Items refused for good are
///   skipped, logged and counted.
/// - Items older than `maxBacklogAge` when their turn comes are skipped unsent, logged and counted as dropped.
public final class DocumentExportJob<Source: ExportSource, Sink: ExportSink>: ScheduledJob where Sink.Item == Source.Item {
    /// `exporter:<sink>:<kind>`, also the key of its position.
    public let name: String
    public let kind = "builtin"
    public let source: Source
    public let sink: Sink
    public let statistics = ExportStatistics()
    /// The run interval of the job (the kind's `export_interval`): the health check calls it degraded when it lags
    /// by more than three.
    public let interval: Duration

    private let positions: ExportPositionStore
    private let batchSize: Int
    private let maxBacklogAge: Duration
    private let maxBatchesPerRun: Int
    private let retryDelay: Duration
    private let logger: Logger
    private let operations: OperationLedger?
    private let now: @Sendable () -> Date

    /// Attempts of one item within a run.
    public static var maxAttempts: Int { 3 }
    /// The longest `Retry-After` waited for within a run; a longer one ends the run (the scheduler backs off).
    public static var maxRetryAfter: Duration { .seconds(30) }

    /// - Parameters:
    ///   - batchSize: items read and handed to the sink at once.
    ///   - maxBacklogAge: items older than this are dropped unsent.
    ///   - retryDelay: the wait before the second attempt of refused-for-now items (doubled before the third).
    ///   - now: the clock, for the backlog age and the lag.
    public init(
        source: Source, sink: Sink, positions: ExportPositionStore, interval: Duration, batchSize: Int,
        maxBacklogAge: Duration, maxBatchesPerRun: Int = 100, retryDelay: Duration = .seconds(1),
        operations: OperationLedger? = nil, logger: Logger, now: @escaping @Sendable () -> Date = Date.init
    ) {
        name = "exporter:\(sink.name):\(source.kind.rawValue)"
        self.source = source
        self.sink = sink
        self.positions = positions
        self.interval = interval
        self.batchSize = max(batchSize, 1)
        self.maxBacklogAge = maxBacklogAge
        self.maxBatchesPerRun = max(maxBatchesPerRun, 1)
        self.retryDelay = retryDelay
        self.operations = operations
        self.logger = logger
        self.now = now
    }

    public func run() async throws {
        do {
            try await send()
            statistics.update { $0.lastError = nil }
        } catch {
            statistics.update { $0.lastError = "\(error)" }
            // Measured in an outage too: that is when the lag grows and health must say so.
            try? await measureBacklog()
            throw error
        }
        try? await measureBacklog()
    }

    private func send() async throws {
        var position: Int64
        if let stored = try await positions.position(of: name) {
            position = stored
        } else {
            position = try await source.lastRow()
            try await positions.setPosition(position, of: name)
            logger.info(
                "exporter starts at the newest stored row",
                metadata: ["exporter": "\(name)", "destination": "\(sink.destination)", "row": "\(position)"])
        }
        for _ in 0..<maxBatchesPerRun {
            try Task.checkCancellation()
            let (items, lastRow) = try await source.items(after: position, limit: batchSize)
            guard let lastRow else { return }
            let cutoff = now().addingTimeInterval(-maxBacklogAge.inSeconds)
            let fresh = items.filter { $0.time >= cutoff }
            if fresh.count < items.count {
                let dropped = items.count - fresh.count
                statistics.update { $0.dropped += dropped }
                logger.warning(
                    "exporter skipped unsent items older than its backlog may be",
                    metadata: [
                        "exporter": "\(name)", "items": "\(dropped)", "max_backlog_age": "\(maxBacklogAge)",
                        "hint": "the receiver was unreachable for longer than max_backlog_age",
                    ])
            }
            if let stopAt = try await deliver(fresh) {
                // Everything before the first item still refused is done; the rest is sent again next run.
                position = max(position, stopAt)
                try await positions.setPosition(position, of: name)
                throw MonitoringError(
                    .exportFailed, "\(sink.destination) still refuses some items for now after \(Self.maxAttempts) attempts",
                    hint: "they are sent again at the next run; check the receiver's load and logs")
            }
            position = lastRow
            try await positions.setPosition(position, of: name)
            // A short page: nothing more is stored now (or some rows could not be read; the next run goes on).
            if items.count < batchSize { return }
        }
    }

    /// Sends `items`, again while some are refused for now; `nil` when every item is done (sent or refused for
    /// good), else the row before the first that is not.
    private func deliver(_ items: [ExportItem<Source.Item>]) async throws -> Int64? {
        var pending = items
        var delay = retryDelay
        for attempt in 1...Self.maxAttempts {
            guard !pending.isEmpty else { return nil }
            if attempt > 1 {
                statistics.update { $0.retried += pending.count }
                try await Task.sleep(for: delay)
                delay *= 2
            }
            let started = ContinuousClock.now
            let response: ExportResponse
            do {
                response = try await sink.send(pending.map(\.item))
            } catch {
                statistics.update {
                    $0.requests += 1
                    $0.failedRequests += 1
                    $0.requestSeconds += started.duration(to: .now).inSeconds
                }
                throw error
            }
            let elapsed = started.duration(to: .now)
            guard response.outcomes.count == pending.count else {
                // Never move past items nobody answered for.
                throw MonitoringError(
                    .exportFailed,
                    "\(sink.destination) answered for \(response.outcomes.count) of \(pending.count) items")
            }
            var again: [ExportItem<Source.Item>] = []
            var sent = 0
            var refused: [String] = []
            for (item, outcome) in zip(pending, response.outcomes) {
                switch outcome {
                case .sent: sent += 1
                case .refused(let reason): refused.append(reason)
                case .retry: again.append(item)
                }
            }
            statistics.update {
                $0.requests += 1
                $0.requestSeconds += elapsed.inSeconds
                $0.sent += sent
                $0.failed += refused.count
            }
            if sent > 0 {
                try? operations?.record(.export, exporter: sink.name, count: sent, duration: elapsed)
            }
            if let first = refused.first {
                logger.warning(
                    "the receiver refused items for good; they are skipped",
                    metadata: [
                        "exporter": "\(name)", "items": "\(refused.count)", "reason": "\(first.prefix(500))",
                    ])
            }
            pending = again
            if let retryAfter = response.retryAfter, !again.isEmpty {
                guard retryAfter <= Self.maxRetryAfter else { break }
                delay = max(retryAfter, .zero)
            }
        }
        guard let first = pending.first else { return nil }
        return items.last(where: { $0.row < first.row })?.row ?? (first.row - 1)
    }

    /// The rows not sent yet and the age of the oldest, for the statistics and health.
    private func measureBacklog() async throws {
        let position = try await positions.position(of: name) ?? 0
        let last = try await source.lastRow()
        let (next, _) = try await source.items(after: position, limit: 1)
        let lag = next.first.map { max(0, now().timeIntervalSince($0.time)) } ?? 0
        statistics.update {
            // Positions are stored rows read back: subtract without trapping whatever they hold.
            let (behind, overflow) = last.subtractingReportingOverflow(position)
            $0.backlogRows = overflow ? 0 : max(0, behind)
            $0.lagSeconds = lag
        }
    }
}
