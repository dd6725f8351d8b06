/// Told about every span that finishes, sampled or not, before it is queued for storage: what the profiler's
/// span metrics count (docs/profiler.md, "Operations").
public protocol SpanObserver: Sendable {
    /// A span named `operation` ended with `status` after `seconds`.
    func spanEnded(operation: String, status: SpanStatus, seconds: Double)
    /// Several spans ended (an ingested batch): by default one ``spanEnded(operation:status:seconds:)`` each.
    func spansEnded(_ spans: [Span])
}

extension SpanObserver {
    public func spansEnded(_ spans: [Span]) {
        for span in spans {
            spanEnded(operation: span.name, status: span.status, seconds: span.endedAfterSeconds)
        }
    }
}

extension Span {
    /// Seconds from start to end, never negative; 0 while it has not ended.
    public var endedAfterSeconds: Double {
        guard let endTime else { return 0 }
        let seconds = endTime.timeIntervalSince(startTime)
        return seconds.isFinite ? max(0, seconds) : 0
    }
}
