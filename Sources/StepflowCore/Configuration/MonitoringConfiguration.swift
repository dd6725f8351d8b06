/// The whole configuration of a stepflow-monitor host, as read from YAML and `STEPFLOW_MONITORING_*` variables.
///
/// `config.yaml` at the repository root is the embedded default; ``MonitoringConfiguration/default`` holds the
/// same values, so a key left out of a user's file takes the value documented there.
public struct MonitoringConfiguration: Sendable, Hashable {
    /// YAML `metrics:`.
    public var metrics: MetricsConfig
    /// YAML `logs:`.
    public var logs: LogConfig
    /// YAML `tracing:`.
    public var tracing: TracingConfig
    /// YAML `alerts:`.
    public var alerts: AlertConfig
    /// YAML `health:`.
    public var health: HealthConfig
    /// YAML `exporters:`.
    public var exporters: ExportersConfig
    /// YAML `http:`.
    public var http: HTTPConfig
    /// YAML `security:`.
    public var security: SecurityConfig
    /// YAML `profiler:`.
    public var profiler: ProfilerConfig
    /// YAML `limits:`.
    public var limits: LimitsConfig
    /// YAML `storage:`.
    public var storage: StorageConfig
    /// YAML `scheduler:`.
    public var scheduler: SchedulerConfig
    /// YAML `plugins:`.
    public var plugins: [PluginConfig]

    public init(
        metrics: MetricsConfig = .default,
        logs: LogConfig = .default,
        tracing: TracingConfig = .default,
        alerts: AlertConfig = .default,
        health: HealthConfig = .default,
        exporters: ExportersConfig = .default,
        http: HTTPConfig = .default,
        security: SecurityConfig = .default,
        profiler: ProfilerConfig = .default,
        limits: LimitsConfig = .default,
        storage: StorageConfig = .default,
        scheduler: SchedulerConfig = .default,
        plugins: [PluginConfig] = []
    ) {
        self.metrics = metrics
        self.logs = logs
        self.tracing = tracing
        self.alerts = alerts
        self.health = health
        self.exporters = exporters
        self.http = http
        self.security = security
        self.profiler = profiler
        self.limits = limits
        self.storage = storage
        self.scheduler = scheduler
        self.plugins = plugins
    }

    /// Every section at its default, and no plugins.
    public static let `default` = MonitoringConfiguration()
}
