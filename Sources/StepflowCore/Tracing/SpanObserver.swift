/// Told about every span that finishes, sampled or not, before it is queued for storage: what the profiler's
/// span metrics count (docs/profiler.md, "Operations").
public protocol SpanObserver: Sendable {
    /// A span named `operation` ended with `status` after `seconds`.
    func spanEnded(operation: String, status: SpanStatus, seconds: Double)
}
