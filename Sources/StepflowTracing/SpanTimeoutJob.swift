import StepflowCore
import StepflowScheduling

/// Closes spans open longer than `tracing.max_trace_duration` as `timed_out`, on its schedule.
public final class SpanTimeoutJob: ScheduledJob {
    public let name = "span-timeouts"
    public let kind = "builtin"
    private let engine: TraceEngine

    public init(engine: TraceEngine) {
        self.engine = engine
    }

    public func run() async throws {
        engine.closeExpired()
    }
}
