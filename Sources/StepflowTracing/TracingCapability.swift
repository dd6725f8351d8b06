import Logging
import ServiceLifecycle
import StepflowCore
import StepflowSecurity
import StepflowScheduling
import StepflowStorage

/// The tracing capability: the engine (the spec's `TracingManager`: spans, sampling, limits), its queue and writer,
/// and the sweep that closes spans open too long.
public struct TracingCapability: Sendable {
    /// Starts, ends, samples, stores and queries spans.
    public let engine: TraceEngine
    /// `monitoring_traces`.
    public let store: TraceStore
    /// The spans ended and not yet written.
    public let queue: SpanWriteQueue
    /// Writes ``queue`` in batches every `tracing.flush_interval`; closes open spans as cancelled at shutdown.
    public let writer: BatchWriter<SpanRow, Never>
    /// The sweep that closes spans open past `tracing.max_trace_duration`.
    public let jobs: [BuiltinJob]
    /// What the host's service group runs for traces.
    public var services: [any Service] { [writer] }
    /// A swift-distributed-tracing backend feeding ``engine``: `InstrumentationSystem.bootstrap(tracer)`.
    public var tracer: StepflowTracer { StepflowTracer(engine: engine) }

    /// The engine over `database` with `tracing:` sampling and limits, its writer and its sweep.
    public static func build(
        _ configuration: TracingConfig, limits: LimitsConfig, database: MonitoringDatabase,
        redactor: Redactor = Redactor(), spanObserver: (any SpanObserver)? = nil,
        operations: OperationLedger = OperationLedger(), logger: Logger
    ) -> TracingCapability {
        let store = TraceStore(database: database)
        let queue = SpanWriteQueue(capacity: 100_000, batchSize: 1000, capacitySetting: "the span queue's fixed size")
        let engine = TraceEngine(
            queue: queue, store: store, sampling: configuration.enableSampling, samplingRate: configuration.samplingRate,
            maxDuration: configuration.maxTraceDuration, maxOpenSpans: configuration.maxOpenSpans, limits: limits,
            redactor: redactor, logger: logger, observer: spanObserver)
        let writer = BatchWriter<SpanRow, Never>(
            queue: queue, name: "spans", flushInterval: configuration.flushInterval, logger: logger,
            // Spans still open when the host stops are written as cancelled, not lost.
            beforeFinalFlush: { engine.closeAllOpen() },
            afterWrite: { rows, duration in try? operations.record(.traceGeneration, count: rows, duration: duration) }
        ) { (rows, _) async throws(MonitoringError) in try await store.insert(rows) }
        // Spans open past tracing.max_trace_duration are closed as timed out.
        let sweep = max(Duration.seconds(1), min(configuration.maxTraceDuration / 4, .seconds(30)))
        return TracingCapability(
            engine: engine, store: store, queue: queue, writer: writer,
            jobs: [BuiltinJob(SpanTimeoutJob(engine: engine), every: sweep, timeout: .seconds(30))])
    }
}
