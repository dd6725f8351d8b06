import Logging
import StepflowCore
import StepflowScheduling
import StepflowStorage
import Synchronization

/// Sends the samples stored since its last run to a Prometheus remote-write receiver (`exporters.prometheus`),
/// every `metrics.export_interval`, in requests of at most ``batchSize`` samples.
///
/// Its position (the last row id sent) is kept in `monitoring_export_positions`, so a receiver that is down loses
/// nothing: the run fails (the scheduler backs off and retries) and the next one resumes from the same row. A
/// request the receiver refuses for good (a 4xx other than 401, 403, 404 and 429: out-of-order samples, a limit) is counted, logged and
/// skipped, as Prometheus' own remote write does, so that one bad batch cannot stop the export. A new exporter starts
/// at the newest stored sample. Samples that aggregation rolled up before they were sent are not sent.
public final class RemoteWriteJob: ScheduledJob {
    /// The job's name in `/health`, logs and self-metrics.
    public let name = "exporter:prometheus"
    /// A built-in job, not a plugin.
    public let kind = "builtin"
    /// Samples per request (Prometheus' `max_samples_per_send` is 2,000 by default).
    static let batchSize = 2_000
    /// The most requests one run sends; the rest waits for the next run.
    static let maxRequestsPerRun = 100

    /// What the job has done, for `/metrics`.
    public struct Counts: Sendable {
        /// Samples the receiver accepted.
        public var sent = 0
        /// Samples in requests the receiver refused for good (skipped).
        public var rejected = 0
        /// Requests sent.
        public var requests = 0
    }

    private let client: RemoteWriteClient
    private let metrics: MetricStore
    private let positions: ExportPositionStore
    private let timeout: Duration
    private let logger: Logger
    private let operations: OperationLedger?
    private let state = Mutex(Counts())

    /// - Parameter operations: where each request the receiver accepted is counted (`export`, exporter
    ///   `prometheus_remote_write`).
    package init(
        client: RemoteWriteClient, metrics: MetricStore, positions: ExportPositionStore, timeout: Duration,
        operations: OperationLedger? = nil, logger: Logger
    ) {
        self.operations = operations
        self.client = client
        self.metrics = metrics
        self.positions = positions
        self.timeout = timeout
        self.logger = logger
    }

    /// What the job has done since start.
    public var counts: Counts { state.withLock { $0 } }

    /// Sends the samples stored since the last position, at most ``maxRequestsPerRun`` requests.
    public func run() async throws {
        var position: Int64
        if let stored = try await positions.position(of: name) {
            position = stored
        } else {
            position = try await metrics.lastRowID() ?? 0
            try await positions.setPosition(position, of: name)
            logger.info("remote write starts at the newest stored sample", metadata: ["endpoint": "\(client.endpoint)", "row": "\(position)"])
        }
        for _ in 0..<Self.maxRequestsPerRun {
            try Task.checkCancellation()
            let (rows, lastRow) = try await metrics.samples(afterRow: position, limit: Self.batchSize)
            guard let lastRow else { return }
            guard !rows.isEmpty else {
                // Nothing in the page could be decoded (rows of a newer version?): step over it, or stop here forever.
                position = lastRow
                try await positions.setPosition(position, of: name)
                continue
            }
            let started = ContinuousClock.now
            let outcome = try await client.send(rows.map(\.metric), timeout: timeout)
            switch outcome {
            case .accepted:
                try? operations?.record(
                    .export, exporter: "prometheus_remote_write", count: rows.count, duration: started.duration(to: .now))
                state.withLock { $0.sent += rows.count; $0.requests += 1 }
            case .rejected(let status, let message):
                state.withLock { $0.rejected += rows.count; $0.requests += 1 }
                logger.warning(
                    "the remote-write receiver refused a request; its samples are skipped",
                    metadata: ["endpoint": "\(client.endpoint)", "status": "\(status)", "samples": "\(rows.count)", "answer": "\(message)"])
            }
            position = lastRow
            try await positions.setPosition(position, of: name)
        }
    }
}
