import Logging
import ServiceLifecycle
import StepflowCore
import StepflowHealth
import StepflowMetrics
import StepflowScheduling
import StepflowSecurity
import StepflowStorage

/// The alerting capability: the engine (the spec's `AlertManager`: rules, alerts, silences), the notifier and its
/// channels (the log, a webhook, Alertmanager), and the jobs that evaluate rules and re-send to Alertmanager.
public struct AlertingCapability: Sendable {
    /// Rules, alerts and silences (`monitoring_alert_rules`, `monitoring_alerts`).
    public let engine: AlertEngine
    /// Delivers notifications to the configured channels; notifier plugins are added to it as they start.
    public let notifier: AlertNotifier
    /// The evaluation job (reported in `/health` as `alerts`) and, with Alertmanager, the re-send.
    public let jobs: [BuiltinJob]
    /// The notifier (it delivers what is queued at shutdown) and the trigger of the log rules.
    public let services: [any Service]

    /// Builds the engine over `database`, loads the rules stored over the API, then applies the ones
    /// `alerts.rules` declares (a declared rule that does not apply is logged, and the others still apply).
    ///
    /// - Parameters:
    ///   - generatorURL: this host's URL of an alert, without the id, for Alertmanager's `generatorURL`.
    ///   - logsWritten: a signal after each committed batch of logs (``LogsCapability/written`` in StepflowLogs).
    ///   - externalLabels: `exporters.external_labels`, added to the alerts sent to Alertmanager.
    /// - Throws: `MonitoringError` when the stored rules or alerts cannot be read.
    public static func build(
        _ configuration: AlertConfig, limits: LimitsConfig, generatorURL: String, database: MonitoringDatabase,
        metrics: MetricsEngine, health: HealthMonitor, logsWritten: AsyncStream<Void>, redactor: Redactor = Redactor(),
        externalLabels: [Label] = [], operations: OperationLedger = OperationLedger(), logger: Logger
    ) async throws(MonitoringError) -> AlertingCapability {
        var channels: [any AlertChannel] = []
        if configuration.logNotifications { channels.append(LogAlertChannel(logger: logger)) }
        if !configuration.webhookURL.isEmpty {
            channels.append(WebhookAlertChannel(
                url: configuration.webhookURL, timeout: configuration.notificationTimeout,
                client: try OutgoingHTTPClients.client(for: configuration.webhookTLS, key: "alerts.webhook_tls")))
        }
        var alertmanager: AlertmanagerAlertChannel?
        if !configuration.alertmanagerURL.isEmpty {
            let channel = AlertmanagerAlertChannel(
                baseURL: configuration.alertmanagerURL, generatorURL: generatorURL, externalLabels: externalLabels,
                timeout: configuration.notificationTimeout,
                client: try OutgoingHTTPClients.client(for: configuration.alertmanagerTLS, key: "alerts.alertmanager_tls"))
            channels.append(channel)
            alertmanager = channel
        }
        let notifier = AlertNotifier(channels: channels, timeout: configuration.notificationTimeout, logger: logger)
        let engine = AlertEngine(
            store: AlertStore(database: database),
            evaluator: AlertQueryEvaluator(
                engine: metrics, metrics: MetricStore(database: database), logs: LogStore(database: database), health: health),
            notifier: notifier,
            options: AlertEngineOptions(
                evaluationInterval: configuration.evaluationInterval, defaultForDuration: configuration.defaultForDuration,
                maxAlertsPerRule: configuration.maxAlertsPerRule, enableNotifications: configuration.enableNotifications,
                enableSilencing: configuration.enableSilencing, limits: limits, redactor: redactor),
            logger: logger)
        try await engine.load()
        do throws(MonitoringError) {
            try await engine.replaceFileRules(configuration.declaredRules)
        } catch {
            logger.error("the declared alert rules were not applied", metadata: ["error": "\(error.message)"])
        }
        // At most once a second; between calls the job sleeps until the next rule is due.
        var jobs = [
            BuiltinJob(
                AlertEvaluationJob(engine: engine, operations: operations), every: .seconds(1),
                timeout: max(configuration.evaluationInterval, .seconds(30)), reportsHealth: true),
        ]
        if let alertmanager {
            await alertmanager.track(try await engine.getActiveAlerts(filter: nil))
            jobs.append(BuiltinJob(
                AlertmanagerResendJob(channel: alertmanager), every: alertmanager.resendInterval,
                timeout: configuration.notificationTimeout))
        }
        return AlertingCapability(
            engine: engine, notifier: notifier, jobs: jobs,
            services: [notifier, LogRuleTrigger(engine: engine, written: logsWritten)])
    }
}
