import StepflowCore
import StepflowScheduling

/// Removes the series their source stopped reporting (`metrics.series_expiry`, a plugin's `stale_after`) from
/// memory and `/metrics`, and logs the sample-refusal counts that came due.
public final class SeriesExpiryJob: ScheduledJob {
    public let name = "series-expiry"
    public let kind = "builtin"
    private let engine: MetricsEngine

    public init(engine: MetricsEngine) {
        self.engine = engine
    }

    /// How often the sweep runs for `seriesExpiry`: a tenth of it, between 100 ms and 10 s. A series leaves at most
    /// one period after its stale time.
    public static func period(seriesExpiry: Duration?) -> Duration {
        guard let seriesExpiry else { return .seconds(10) }
        return max(.milliseconds(100), min(seriesExpiry / 10, .seconds(10)))
    }

    public func run() async throws {
        engine.expireStale()
    }
}
