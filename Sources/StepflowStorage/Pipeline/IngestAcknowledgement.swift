import StepflowCore

/// When an ingest request is acknowledged (`http.acknowledge`, `http.commit_timeout`), and how long it may wait
/// for room in a full queue.
public struct IngestPolicy: Sendable, Hashable {
    /// `committed`: answer once the rows are in the database; `queued`: once they are queued in memory.
    public var waitForCommit: Bool
    /// How long to wait for the commit before answering 202 (accepted, not yet stored).
    public var commitTimeout: Duration
    /// How long to wait for room for the whole batch in a full queue before answering 503.
    public var roomTimeout: Duration

    public init(waitForCommit: Bool = true, commitTimeout: Duration = .seconds(10), roomTimeout: Duration = .seconds(5)) {
        self.waitForCommit = waitForCommit
        self.commitTimeout = commitTimeout
        self.roomTimeout = roomTimeout
    }

    /// The policy of `http:` (with `metrics.backpressure_timeout` as the wait for room).
    public init(_ http: HTTPConfig, roomTimeout: Duration) {
        self.init(waitForCommit: http.acknowledge != "queued", commitTimeout: http.commitTimeout, roomTimeout: roomTimeout)
    }

    public static let `default` = IngestPolicy()
}

/// What became of the valid rows of an ingest batch. Rows are queued all or none, and a queued row is never
/// dropped: once acknowledged, it is written (docs/http-api.md, "What an answer guarantees").
public enum IngestOutcome: Sendable, Hashable {
    /// In the database (committed).
    case stored
    /// Queued in memory (`acknowledge: queued`); written within the flush interval.
    case queued
    /// Queued, but not committed within `commit_timeout`: it will be written, not acknowledged as stored.
    case pending
    /// Nothing was queued: storage refuses writes, or the queue stayed full. Retry later.
    case unavailable(String)
    /// The batch holds more rows than the write queue can ever take: nothing was queued; send smaller batches.
    case tooLarge(String)
    /// There was nothing valid to queue.
    case nothing
}

extension WriteQueue {
    /// Why a batch of `count` rows is refused whole.
    public func tooLargeMessage(_ count: Int) -> String {
        let limit = capacitySetting.map { "\($0), \(capacity) rows" } ?? "\(capacity) rows"
        return "the batch of \(count) rows is larger than the write queue (\(limit)); send smaller batches"
    }

    /// Queues `rows` all or none under `policy` and waits as it says: the one ingest path of the metrics, log and
    /// span APIs.
    public func ingest(_ rows: [Row], policy: IngestPolicy) async -> IngestOutcome {
        guard !rows.isEmpty else { return .nothing }
        if let failure = writeFailure {
            return .unavailable("storage refuses writes (\(failure)); nothing was stored")
        }
        guard rows.count <= capacity else { return .tooLarge(tooLargeMessage(rows.count)) }
        guard let through = await enqueueAll(rows, timeout: policy.roomTimeout) else {
            return .unavailable("the write queue stayed full for \(policy.roomTimeout); nothing was stored")
        }
        guard policy.waitForCommit else { return .queued }
        return await waitUntilCommitted(through: through, timeout: policy.commitTimeout) ? .stored : .pending
    }
}
