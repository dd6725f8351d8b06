import Foundation
import Logging
import StepflowCore
import StepflowSecurity
import StepflowStorage
import Synchronization

/// The queue between the trace engine and its writer.
public typealias SpanWriteQueue = WriteQueue<SpanRow, Never>

/// The spec's `TracingManager`: creates traces and spans, decides sampling, keeps started spans in memory until
/// they end, and queues ended spans for the batched writer of `monitoring_traces`.
///
/// Sampling (`tracing.enable_sampling`, `sampling_rate`) is decided once per trace, from its id: a trace id whose
/// low 64 bits fall below `sampling_rate × 2⁶⁴` is kept (W3C trace ids are random there), so every service that
/// sees the id decides alike and a child span follows its parent. An unsampled span is a value that is never
/// registered: starting and ending it costs no lock and no allocation. Ids come from a counter mixed by SplitMix64,
/// seeded at random: unique and evenly spread without a system call per id.
///
/// A span still open after `tracing.max_trace_duration` is closed by ``closeExpired()`` as `timed_out`. Past
/// `tracing.max_open_spans` open spans, new spans are returned unsampled and counted.
public final class TraceEngine: TracingManager, Sendable {
    private struct SpanKey: Hashable {
        let trace: TraceID
        let span: SpanID
    }

    private struct Counters {
        var started: UInt64 = 0
        var recorded: UInt64 = 0
        var unsampled: UInt64 = 0
        var timedOut: UInt64 = 0
        var overflow: UInt64 = 0
        var refused: UInt64 = 0
    }

    private let queue: SpanWriteQueue
    public let store: TraceStore
    private let threshold: UInt64?
    private let maxDuration: Duration
    private let maxOpenSpans: Int
    private let limits: LimitsConfig
    /// What removes secrets from attributes and events before spans are stored (`security.redact_*`).
    private let redactor: Redactor
    private let logger: Logger
    private let now: @Sendable () -> Date
    /// Told about every span that finishes (the profiler's span metrics).
    private let observer: (any SpanObserver)?
    private let open = Mutex<[SpanKey: Span]>([:])
    private let counters = Mutex(Counters())
    private let ids: Atomic<UInt64>
    private let seed: UInt64

    /// - Parameters:
    ///   - samplingRate: the fraction of traces kept (0…1) when `sampling` is on.
    ///   - maxDuration: spans open longer are closed as timed out (`tracing.max_trace_duration`).
    ///   - observer: told about every span that finishes, sampled or not, and every span imported.
    public init(
        queue: SpanWriteQueue, store: TraceStore, sampling: Bool, samplingRate: Double, maxDuration: Duration,
        maxOpenSpans: Int, limits: LimitsConfig = .default, redactor: Redactor = Redactor(), logger: Logger,
        observer: (any SpanObserver)? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.observer = observer
        self.redactor = redactor
        self.limits = limits
        self.queue = queue
        self.store = store
        let rate = min(max(samplingRate, 0), 1)
        // nil: keep everything; 0: keep nothing; otherwise keep ids whose low 64 bits are below this.
        self.threshold = !sampling || rate >= 1 ? nil : UInt64((rate * 18_446_744_073_709_551_615.0).rounded(.down))  // range: 0 ≤ rate < 1
        self.maxDuration = maxDuration
        self.maxOpenSpans = max(maxOpenSpans, 1)
        self.logger = logger
        self.now = now
        var random = SystemRandomNumberGenerator()
        self.seed = random.next()
        self.ids = Atomic(random.next())
    }

    /// Spans started, recorded (ended and queued), started unsampled, closed as timed out, not recorded because
    /// too many were open, and refused (malformed imports), since start.
    public var counts: (started: UInt64, recorded: UInt64, unsampled: UInt64, timedOut: UInt64, overflow: UInt64, refused: UInt64) {
        counters.withLock { ($0.started, $0.recorded, $0.unsampled, $0.timedOut, $0.overflow, $0.refused) }
    }

    /// Spans started and not ended yet.
    public var openSpans: Int { open.withLock { $0.count } }

    /// Ended spans dropped because the queue was full, and spans waiting to be written.
    public var queueCounts: (dropped: UInt64, depth: Int) { (queue.dropped, queue.depth) }

    // MARK: Ids and sampling

    private func nextRandom() -> UInt64 {
        // SplitMix64 over a shared counter: one atomic add per id.
        var z = ids.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue ^ seed
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A new, random span id.
    public func newSpanID() -> SpanID {
        var value = nextRandom()
        if value == 0 { value = 1 }
        return withUnsafeBytes(of: value.bigEndian) { bytes in
            SpanID(bytes: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]))
        }
    }

    /// A new, random trace id.
    public func newTraceID() -> TraceID {
        let high = nextRandom().bigEndian
        let low = nextRandom().bigEndian
        return withUnsafeBytes(of: (high, low)) { b in
            TraceID(bytes: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
        }
    }

    /// Whether a trace with this id is kept.
    public func isSampled(_ traceID: TraceID) -> Bool {
        guard let threshold else { return true }
        return traceID.samplingValue < threshold
    }

    // MARK: TracingManager

    public func createTraceContext(operation: String, metadata: [String: JSONValue]) async throws(MonitoringError) -> TraceContext {
        newContext(operation: operation, metadata: metadata)
    }

    public func startSpan(_ name: String, context: TraceContext) async throws(MonitoringError) -> Span {
        start(name, context: context)
    }

    public func endSpan(_ span: Span, result: SpanResult) async throws(MonitoringError) {
        try end(span, result: result)
    }

    public func addTraceEvent(_ span: Span, event: TraceEvent) async throws(MonitoringError) {
        guard span.sampled else { return }
        let key = SpanKey(trace: span.traceID, span: span.spanID)
        let found = open.withLock { open -> Bool in
            guard open[key] != nil else { return false }
            open[key]!.events.append(event)
            return true
        }
        if !found { throw unknown(span, doing: "add an event to") }
    }

    public func queryTraces(_ query: TraceQuery) async throws(MonitoringError) -> [Trace] {
        try await store.traces(query)
    }

    public func getTraceStats(filter: TraceFilter?) async throws(MonitoringError) -> TraceStats {
        if let filter, let since = filter.since, let until = filter.until, since > until {
            throw .invalidQuery("the time range is inverted: since is after until", hint: "swap the two times")
        }
        return try await store.stats(filter)
    }

    // MARK: The same, synchronous (the swift-distributed-tracing backend, benchmarks)

    /// A new trace context; see ``createTraceContext(operation:metadata:)``.
    public func newContext(operation: String, metadata: [String: JSONValue] = [:]) -> TraceContext {
        let id = newTraceID()
        return TraceContext(traceID: id, operation: operation, metadata: metadata, createdAt: now(), sampled: isSampled(id))
    }

    /// Starts a span; an unsampled one is returned without being registered.
    public func start(_ name: String, context: TraceContext) -> Span {
        var span = Span(
            spanID: newSpanID(), traceID: context.traceID, parentSpanID: context.spanID, name: name, startTime: now(),
            sampled: context.sampled)
        guard context.sampled else {
            counters.withLock { $0.unsampled += 1 }
            return span
        }
        let admitted = open.withLock { open -> Bool in
            guard open.count < maxOpenSpans else { return false }
            open[SpanKey(trace: span.traceID, span: span.spanID)] = span
            return true
        }
        if admitted {
            counters.withLock { $0.started += 1 }
        } else {
            span.sampled = false
            counters.withLock { $0.overflow += 1 }
        }
        return span
    }

    /// Ends a started span: stamps its end, status and attributes, and queues it.
    ///
    /// - Throws: `traceNotFound` for a span this engine did not start, or that already ended.
    public func end(_ span: Span, result: SpanResult) throws(MonitoringError) {
        guard span.sampled else {
            // Not stored, but counted: span metrics do not depend on sampling.
            if let observer {
                observer.spanEnded(
                    operation: span.name, status: result.status == .started ? .ok : result.status,
                    seconds: max(0, now().timeIntervalSince(span.startTime)))
            }
            return
        }
        guard var ended = open.withLock({ $0.removeValue(forKey: SpanKey(trace: span.traceID, span: span.spanID)) }) else {
            throw unknown(span, doing: "end")
        }
        ended.endTime = max(now(), ended.startTime)
        ended.status = result.status == .started ? .ok : result.status
        for (key, value) in span.metadata { ended.metadata[key] = value }
        for (key, value) in result.attributes { ended.metadata[key] = value }
        if let message = result.message { ended.metadata["error.message"] = .string(message) }
        enqueue([ended])
    }

    /// Records complete spans from elsewhere (the HTTP API, the swift-distributed-tracing backend): each must have
    /// ended, after it started, with a name; the others are refused with a reason by position.
    @discardableResult
    public func record(_ spans: [Span]) -> (accepted: Int, refused: [(index: Int, reason: String)]) {
        let (accepted, refused) = check(spans)
        enqueue(accepted)
        return (accepted.count, refused)
    }

    /// The sampled spans of `spans` that can be stored, and the reasons the others cannot (counted as refused).
    private func check(_ spans: [Span]) -> (accepted: [Span], refused: [(index: Int, reason: String)]) {
        var accepted: [Span] = []
        var refused: [(index: Int, reason: String)] = []
        for (index, span) in spans.enumerated() {
            if span.name.isEmpty {
                refused.append((index, "a span needs a name"))
            } else if let reason = Self.refusal(of: span, limits: limits) {
                refused.append((index, reason))
            } else if let end = span.endTime, end < span.startTime {
                refused.append((index, "span \(span.name) ends before it starts"))
            } else if span.endTime == nil || span.status == .started {
                refused.append((index, "span \(span.name) has not ended: give it an end time and a status"))
            } else if span.sampled {
                accepted.append(span)
            }
        }
        if !refused.isEmpty { counters.withLock { $0.refused += UInt64(refused.count) } }
        return (accepted, refused)
    }

    /// Records complete spans from the ingest API, as ``record(_:)`` checks them; the valid ones are queued all or
    /// none and acknowledged as `policy` says.
    public func ingest(_ spans: [Span], policy: IngestPolicy) async -> (
        accepted: Int, refused: [(index: Int, reason: String)], outcome: IngestOutcome
    ) {
        let (accepted, refused) = check(spans)
        let outcome = await queue.ingest(accepted.map { SpanRow(redacted($0)) }, policy: policy)
        switch outcome {
        case .unavailable, .tooLarge, .nothing: return (0, refused, outcome)
        case .stored, .queued, .pending:
            observe(accepted)
            counters.withLock { $0.recorded += UInt64(accepted.count) }
            return (accepted.count, refused, outcome)
        }
    }

    /// Why `span` cannot be stored: a time outside ``ValidTime``, a name or event name past
    /// `limits.max_name_length`, or attributes and events past `limits.max_fields_size`.
    static func refusal(of span: Span, limits: LimitsConfig) -> String? {
        let times = [span.startTime] + (span.endTime.map { [$0] } ?? []) + span.events.map(\.timestamp)
        if times.contains(where: { !ValidTime.contains($0) }) {
            return "span \(span.name.prefix(64)) has a time outside \(ValidTime.rangeText)"
        }
        let longest = ([span.name] + span.events.map(\.name)).map(\.utf8.count).max() ?? 0
        if longest > limits.maxNameLength {
            return "a span or event name is \(longest) bytes long, more than limits.max_name_length (\(limits.maxNameLength))"
        }
        let row = SpanRow(span)
        let size = (row.events?.utf8.count ?? 0) + (row.metadata?.utf8.count ?? 0)
        if size > limits.maxFieldsSize {
            return "span \(span.name.prefix(64))'s attributes and events are \(size) bytes of JSON, more than "
                + "limits.max_fields_size (\(limits.maxFieldsSize))"
        }
        return nil
    }

    /// Closes every span open longer than `tracing.max_trace_duration` as `timed_out`; returns how many.
    @discardableResult
    public func closeExpired() -> Int {
        let current = now()
        let cutoff = current.addingTimeInterval(-maxDuration.inSeconds)
        var expired = open.withLock { open -> [Span] in
            let old = open.filter { $0.value.startTime < cutoff }
            for key in old.keys { open[key] = nil }
            return Array(old.values)
        }
        guard !expired.isEmpty else { return 0 }
        for index in expired.indices {
            expired[index].endTime = current
            expired[index].status = .timedOut
        }
        counters.withLock { $0.timedOut += UInt64(expired.count) }
        logger.notice(
            "spans open past tracing.max_trace_duration were closed as timed out",
            metadata: ["spans": "\(expired.count)", "max_trace_duration": "\(maxDuration)"])
        enqueue(expired)
        return expired.count
    }

    /// Closes every open span as `cancelled` and queues it: what the host does when it stops, so a span still
    /// open then is written rather than lost. Returns how many there were.
    @discardableResult
    public func closeAllOpen() -> Int {
        let current = now()
        var closing = open.withLock { open -> [Span] in
            let spans = Array(open.values)
            open.removeAll()
            return spans
        }
        guard !closing.isEmpty else { return 0 }
        for index in closing.indices {
            closing[index].endTime = max(current, closing[index].startTime)
            closing[index].status = .cancelled
            closing[index].metadata["stepflow.closed_by"] = "shutdown"
        }
        logger.info("spans still open at shutdown were closed as cancelled", metadata: ["spans": "\(closing.count)"])
        enqueue(closing)
        return closing.count
    }

    /// `span` with secrets out of its attributes and events, as it is stored (docs/security.md, "Secrets").
    private func redacted(_ span: Span) -> Span {
        var span = span
        span.metadata = redactor.redact(fields: span.metadata)
        for index in span.events.indices {
            span.events[index].name = redactor.redact(span.events[index].name)
            span.events[index].attributes = redactor.redact(fields: span.events[index].attributes)
        }
        return span
    }

    private func enqueue(_ spans: [Span]) {
        guard !spans.isEmpty else { return }
        observe(spans)
        let spans = spans.map(redacted)
        counters.withLock { $0.recorded += UInt64(spans.count) }
        let dropped = queue.enqueue(spans.map(SpanRow.init))
        if dropped > 0 { logger.warning("span write queue is full; spans dropped", metadata: ["dropped": "\(dropped)"]) }
    }

    /// Tells the observer about finished spans.
    private func observe(_ spans: [Span]) {
        observer?.spansEnded(spans)
    }

    private func unknown(_ span: Span, doing what: String) -> MonitoringError {
        MonitoringError(
            .traceNotFound,
            "cannot \(what) span \(span.spanID) (\(span.name)) of trace \(span.traceID): it was not started here, "
                + "or has already ended (or timed out after tracing.max_trace_duration)",
            hint: "end each span once, with the Span value start_span returned")
    }
}
