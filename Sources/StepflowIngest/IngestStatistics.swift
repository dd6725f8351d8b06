import StepflowStorage
import Synchronization

/// Counters of every ingest path (the JSON APIs, remote write): requests by path and status code, and items
/// (samples, log entries, spans) by path and outcome. The host publishes them as `stepflow_ingest_requests_total`
/// and `stepflow_ingest_items_total` (docs/ingest.md, "Counters").
///
/// The keys are bounded: paths are the host's own routes, statuses are HTTP codes and outcomes are the fixed
/// words of ``IngestOutcomeName``, so no request can add a series of its choosing.
public final class IngestStatistics: Sendable {
    /// A path and an HTTP status code.
    public struct RequestKey: Hashable, Sendable {
        public let path: String
        public let status: Int

        public init(path: String, status: Int) {
            self.path = path
            self.status = status
        }
    }

    /// A path and what became of an item.
    public struct ItemKey: Hashable, Sendable {
        public let path: String
        public let outcome: IngestOutcomeName

        public init(path: String, outcome: IngestOutcomeName) {
            self.path = path
            self.outcome = outcome
        }
    }

    private struct State {
        var requests: [RequestKey: UInt64] = [:]
        var items: [ItemKey: UInt64] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts one answered request.
    public func countRequest(path: String, status: Int) {
        state.withLock { $0.requests[RequestKey(path: path, status: status), default: 0] &+= 1 }
    }

    /// Counts `count` items of one outcome; zero counts nothing.
    public func countItems(path: String, _ outcome: IngestOutcomeName, _ count: Int) {
        guard count > 0 else { return }
        state.withLock { $0.items[ItemKey(path: path, outcome: outcome), default: 0] &+= UInt64(count) }
    }

    /// Counts the items of one request as its outcome says.
    ///
    /// - Parameters:
    ///   - decoded: the items read and handed to the engine;
    ///   - unreadable: the items that could not be read (counted as refused);
    ///   - accepted, refused: what the engine did with the decoded ones;
    ///   - outcome: a request refused whole (``IngestOutcome/unavailable(_:)``, ``IngestOutcome/tooLarge(_:)``)
    ///     counts its decoded items as not queued.
    public func count(
        path: String, decoded: Int, unreadable: Int = 0, accepted: Int, refused: Int, outcome: IngestOutcome
    ) {
        switch outcome {
        case .unavailable, .tooLarge:
            countItems(path: path, .notQueued, decoded)
            countItems(path: path, .refused, unreadable)
        case .stored, .queued, .pending, .nothing:
            countItems(path: path, .accepted, accepted)
            countItems(path: path, .refused, refused + unreadable)
        }
    }

    /// Requests answered since start, by path and status.
    public var requests: [RequestKey: UInt64] { state.withLock { $0.requests } }
    /// Items since start, by path and outcome.
    public var items: [ItemKey: UInt64] { state.withLock { $0.items } }
}

/// What became of one ingested item: the `outcome` label of `stepflow_ingest_items_total`.
public enum IngestOutcomeName: String, Sendable, Hashable, CaseIterable {
    /// Taken by the engine (queued or stored, as `http.acknowledge` says).
    case accepted
    /// Refused by the engine (invalid, over a limit, a type clash; the refusal log names why).
    case refused
    /// A Prometheus staleness marker: the sender says the series is gone; nothing is stored for it.
    case staleMarker = "stale_marker"
    /// A remote-write exemplar: not stored.
    case exemplarIgnored = "exemplar_ignored"
    /// A native (sparse) histogram sample: not supported, so not stored.
    case nativeHistogramRefused = "native_histogram_refused"
    /// A time series without a metric name (`__name__`).
    case unnamed
    /// Decoded but not queued: the write queue stayed full, storage refuses writes, or the batch is larger than
    /// the queue (503 or 413: nothing of the request was kept; the sender sends it again).
    case notQueued = "not_queued"
}
