/// Creates, records and queries traces: the spec's `TracingManager` trait.
public protocol TracingManager: Sendable {
    /// A new trace (a new trace id, sampled or not by `tracing.sampling_rate`).
    func createTraceContext(operation: String, metadata: [String: JSONValue]) async throws(MonitoringError) -> TraceContext
    /// Starts a span in `context`: a child of `context.spanID` when it has one.
    func startSpan(_ name: String, context: TraceContext) async throws(MonitoringError) -> Span
    /// Ends a span with its result and records it.
    func endSpan(_ span: Span, result: SpanResult) async throws(MonitoringError)
    /// Adds an event to a started span.
    func addTraceEvent(_ span: Span, event: TraceEvent) async throws(MonitoringError)
    /// Traces matching `query`, newest first.
    func queryTraces(_ query: TraceQuery) async throws(MonitoringError) -> [Trace]
    /// Counts, error rates and duration percentiles per operation.
    func getTraceStats(filter: TraceFilter?) async throws(MonitoringError) -> TraceStats
}
