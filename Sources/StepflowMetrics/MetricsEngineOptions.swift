import StepflowCore

/// How the metrics engine treats samples: cardinality limits, histogram buckets, summary quantiles and windows,
/// and how long `record_metrics` waits for room in a full write queue.
public struct MetricsEngineOptions: Sendable, Hashable {
    /// `metrics.max_*`.
    public var limits: CardinalityLimits
    /// Upper bounds of histograms fed by observations (`record_histogram`, swift-metrics recorders and timers) whose
    /// name has no bounds of its own: `metrics.histogram_buckets`, Prometheus' defaults unless set.
    public var defaultBuckets: [Double]
    /// Per-metric upper bounds: `metrics.histograms` (name → bounds).
    public var buckets: [String: [Double]]
    /// The φ-quantiles summaries report: `metrics.summary_quantiles`, default 0.5, 0.9, 0.99.
    public var quantiles: [Double]
    /// How long an observation counts towards a summary's quantiles: `metrics.summary_max_age`, default 10m.
    public var summaryMaxAge: Duration
    /// The most observations a summary keeps for its quantiles: `metrics.summary_max_samples`, default 1024.
    public var summaryMaxSamples: Int
    /// How long `record_metrics` waits for the writer when the queue is full before dropping the rest:
    /// `metrics.backpressure_timeout`, default 5s.
    public var backpressureTimeout: Duration
    /// How long a series of the HTTP ingest API, of a plugin without a longer stale time, or restored at start
    /// stays in memory and on `/metrics` after it was last reported: `metrics.series_expiry`, default 5m; `nil`
    /// (`0s` in YAML) keeps every series until the host stops.
    public var seriesExpiry: Duration?
    /// Whether the engine keeps an estimate of its series' memory (``MetricsEngine/seriesMemoryEstimate``, shown
    /// by `GET /api/v1/profile`). On by default; the P1 benchmark turns it off to measure what it costs.
    public var estimatesSeriesMemory = true

    public init(
        limits: CardinalityLimits = .default, defaultBuckets: [Double] = MetricsEngine.defaultBuckets,
        buckets: [String: [Double]] = [:], quantiles: [Double] = MetricsEngine.defaultQuantiles,
        summaryMaxAge: Duration = .seconds(600), summaryMaxSamples: Int = 1024,
        backpressureTimeout: Duration = .seconds(5), seriesExpiry: Duration? = .seconds(300)
    ) {
        self.seriesExpiry = seriesExpiry
        self.limits = limits
        self.defaultBuckets = defaultBuckets
        self.buckets = buckets
        self.quantiles = quantiles
        self.summaryMaxAge = summaryMaxAge
        self.summaryMaxSamples = summaryMaxSamples
        self.backpressureTimeout = backpressureTimeout
    }

    /// The options of a metrics configuration and the host's `limits:`.
    public init(_ config: MetricsConfig, limits: LimitsConfig = .default) {
        self.init(
            limits: CardinalityLimits(config, limits: limits), defaultBuckets: config.histogramBuckets, buckets: config.histograms,
            quantiles: config.summaryQuantiles, summaryMaxAge: config.summaryMaxAge,
            summaryMaxSamples: config.summaryMaxSamples, backpressureTimeout: config.backpressureTimeout,
            seriesExpiry: config.seriesExpiry == .zero ? nil : config.seriesExpiry)
    }

    public static let `default` = MetricsEngineOptions()

    /// The bucket bounds of histogram `name`.
    public func bounds(of name: String) -> [Double] { buckets[name] ?? defaultBuckets }
}
