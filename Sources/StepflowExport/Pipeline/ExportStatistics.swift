import Synchronization

/// What one exporter job has done since start, for `stepflow_export_*{exporter,kind}` and `/health`
/// (docs/exporters.md, "Telemetry and health").
public final class ExportStatistics: Sendable {
    public struct Counts: Sendable, Equatable {
        /// Items the receiver took.
        public var sent = 0
        /// Items refused for good: skipped.
        public var failed = 0
        /// Items sent again after the receiver refused them for now.
        public var retried = 0
        /// Items skipped unsent because they were older than the backlog may be.
        public var dropped = 0
        /// Calls of the sink, and those that failed as a whole.
        public var requests = 0
        public var failedRequests = 0
        /// Seconds spent in the sink.
        public var requestSeconds = 0.0
        /// Rows stored and not sent yet, and how old the oldest of them is (seconds), as of the last run.
        public var backlogRows: Int64 = 0
        public var lagSeconds = 0.0
        /// Why the last run failed, cleared by a run that succeeds (the job's own `/health` details carry when it
        /// last succeeded).
        public var lastError: String?
    }

    private let state = Mutex(Counts())

    public init() {}

    public var counts: Counts { state.withLock { $0 } }

    func update(_ change: (inout Counts) -> Void) {
        state.withLock { change(&$0) }
    }
}
