import Foundation
import Logging
import StepflowCore
import StepflowScheduling
import StepflowSecurity
import StepflowStorage
import Synchronization

/// The settings of the alert engine: the spec's `AlertConfig`.
public struct AlertEngineOptions: Sendable, Hashable {
    /// How often a rule without its own `evaluation_interval` is evaluated.
    public var evaluationInterval: Duration
    /// How long a condition must hold before an alert of a rule without `for` fires.
    public var defaultForDuration: Duration
    /// The most open alerts one rule may hold; series past it are counted and skipped.
    public var maxAlertsPerRule: Int
    public var enableNotifications: Bool
    public var enableSilencing: Bool
    /// `limits:`: the sizes of rule names and texts, silence comments, acknowledgement messages.
    public var limits: LimitsConfig
    /// Removes secrets from alert labels and expanded annotations before they are stored or sent
    /// (`security.redact_*`).
    public var redactor: Redactor = Redactor()

    public init(
        evaluationInterval: Duration = .seconds(30), defaultForDuration: Duration = .seconds(300),
        maxAlertsPerRule: Int = 100, enableNotifications: Bool = true, enableSilencing: Bool = true,
        limits: LimitsConfig = .default, redactor: Redactor = Redactor()
    ) {
        self.redactor = redactor
        self.limits = limits
        self.evaluationInterval = evaluationInterval
        self.defaultForDuration = defaultForDuration
        self.maxAlertsPerRule = maxAlertsPerRule
        self.enableNotifications = enableNotifications
        self.enableSilencing = enableSilencing
    }
}

/// How a rule's evaluations went.
public struct RuleEvaluationStatus: Sendable, Hashable {
    public var evaluations: UInt64 = 0
    public var failures: UInt64 = 0
    public var lastEvaluatedAt: Date?
    public var lastDuration: Duration = .zero
    public var lastError: String?
    /// Series skipped because the rule already held `max_alerts_per_rule` open alerts.
    public var overflow: UInt64 = 0
    /// Whether the last evaluation skipped series (the warning is logged when this starts, not every time).
    public var overflowing = false
}

/// The alert engine's counters, readable without waiting for the engine (for `/metrics`).
public struct AlertTelemetry: Sendable, Hashable {
    /// Alerts that started firing since start: the spec's `total_alerts_fired`.
    public var firedTotal: UInt64 = 0
    /// Per rule name.
    public var rules: [String: RuleEvaluationStatus] = [:]
    /// Open alerts per status (`silenced` counts the muted ones among them).
    public var open: [AlertStatus: Int] = [:]
}

/// Evaluates alert rules and keeps their alerts: the spec's `AlertManager`.
///
/// Each enabled rule is evaluated on its interval (``evaluateDue(at:)``). A series of its query for which the
/// condition holds opens an alert, `pending` until the condition has held for the rule's `for`, then `firing`.
/// When the condition no longer holds, a pending alert is dropped and a firing (or acknowledged) one resolves —
/// after `keep_firing_for`, when the rule sets it. Open alerts are stored as they change, with the last status
/// notified, so a restart resumes them without notifying again.
public actor AlertEngine: AlertManager {
    public let store: AlertStore
    public let evaluator: AlertQueryEvaluator
    public let options: AlertEngineOptions
    private let notifier: AlertNotifier?
    private let logger: Logger
    private let now: @Sendable () -> Date

    private var rules: [AlertRuleID: ValidatedAlertRule] = [:] {
        didSet { dueTimesChanged.fire() }
    }
    /// Open alerts by rule, then by fingerprint.
    private var open: [AlertRuleID: [String: StoredAlert]] = [:]
    private var lastEvaluation: [AlertRuleID: Date] = [:]
    private var evaluating: Set<AlertRuleID> = []
    private var silences: [Silence] = [] {
        didSet { dueTimesChanged.fire() }
    }
    /// Fired when a rule or silence changes, so that the evaluation job, asleep until the next rule it knew
    /// of was due (``delayUntilNextDue(at:)``), looks again.
    public nonisolated let dueTimesChanged = WakeSignal()
    private var status: [AlertRuleID: RuleEvaluationStatus] = [:]
    /// The last alert write issued (see ``saveInOrder(_:removing:)``).
    private var alertWrites: Task<Void, Never>?
    /// Alerts that started firing since start: the spec's `total_alerts_fired`.
    public private(set) var firedTotal: UInt64 = 0
    /// Rules that are stored but do not validate (with this version), by id, with the reason.
    public private(set) var invalidRules: [AlertRuleID: String] = [:]
    private let published = Mutex(AlertTelemetry())

    /// The counters as of the last change, without waiting for the engine.
    public nonisolated var telemetry: AlertTelemetry { published.withLock { $0 } }

    /// Copies the counters where ``telemetry`` reads them.
    private func publish() {
        let snapshot = AlertTelemetry(firedTotal: firedTotal, rules: evaluationStatus, open: openCounts)
        published.withLock { $0 = snapshot }
    }

    public init(
        store: AlertStore, evaluator: AlertQueryEvaluator, notifier: AlertNotifier?, options: AlertEngineOptions,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.evaluator = evaluator
        self.notifier = notifier
        self.options = options
        self.logger = logger
        self.now = now
    }

    /// Reads rules, open alerts and silences from storage: what a restart resumes.
    public func load() async throws(MonitoringError) {
        rules = [:]
        invalidRules = [:]
        for rule in try await store.rules() {
            do throws(MonitoringError) {
                rules[rule.id] = try rule.validated(limits: options.limits)
            } catch {
                invalidRules[rule.id] = error.message
                logger.error("a stored alert rule does not validate and is not evaluated", metadata: [
                    "rule": "\(rule.name)", "error": "\(error.message)",
                ])
            }
        }
        open = [:]
        for stored in try await store.openAlerts() {
            open[stored.alert.ruleID, default: [:]][stored.alert.fingerprint] = stored
        }
        silences = try await store.silences(endedAfter: now())
        publish()
        // The rules declared in the configuration are applied after this (replaceFileRules), which logs the total.
        logger.info("stored alert state loaded", metadata: [
            "stored_rules": "\(rules.count)", "open_alerts": "\(open.values.reduce(0) { $0 + $1.count })",
            "silences": "\(silences.count)",
        ])
    }

    // MARK: Rules (the spec's AlertManager)

    public func createAlertRule(_ rule: AlertRule) async throws(MonitoringError) -> AlertRuleID {
        var rule = rule
        if rules[rule.id] != nil { rule.id = .random() }
        let time = now()
        rule.createdAt = time
        rule.updatedAt = time
        let validated = try rule.validated(limits: options.limits)
        guard rules.count < options.limits.maxRules else {
            throw .invalidQuery(
                "the host already holds \(rules.count) rules, the limits.max_rules limit", hint: "delete rules first")
        }
        try await store.save(rule)
        rules[rule.id] = validated
        publish()
        logger.info("alert rule created", metadata: ["rule": "\(rule.name)", "id": "\(rule.id)"])
        return rule.id
    }

    public func updateAlertRule(_ id: AlertRuleID, rule: AlertRule) async throws(MonitoringError) {
        let existing = try editableRule(id, doing: "update")
        var rule = rule
        rule.id = id
        rule.createdAt = existing.rule.createdAt
        rule.updatedAt = now()
        let validated = try rule.validated(limits: options.limits)
        try await store.save(rule)
        rules[id] = validated
        if existing.query != validated.query || existing.condition != validated.condition || !rule.enabled {
            // What the alerts measured changed: they no longer mean what they said.
            try await closeAlerts(of: id, message: rule.enabled ? "the rule's query or condition changed" : "the rule was disabled")
        }
    }

    public func deleteAlertRule(_ id: AlertRuleID) async throws(MonitoringError) {
        let existing = try editableRule(id, doing: "delete")
        try await closeAlerts(of: id, message: "the rule was deleted")
        _ = try await store.deleteRule(id)
        rules[id] = nil
        lastEvaluation[id] = nil
        status[id] = nil
        logger.info("alert rule deleted", metadata: ["rule": "\(existing.rule.name)", "id": "\(id)"])
    }

    public func getAlertRule(_ id: AlertRuleID) async throws(MonitoringError) -> AlertRule {
        guard let rule = rules[id]?.rule else { throw Self.ruleNotFound(id) }
        return rule
    }

    public func listAlertRules(filter: AlertFilter?) async throws(MonitoringError) -> [AlertRule] {
        rules.values.map(\.rule).filter { filter?.matches($0) ?? true }.sorted { $0.name < $1.name }
    }

    public func getActiveAlerts(filter: AlertFilter?) async throws(MonitoringError) -> [Alert] {
        var filter = filter ?? AlertFilter()
        if filter.statuses == nil { filter.statuses = [.pending, .firing, .acknowledged] }
        return open.values.flatMap(\.values).map(\.alert).filter(filter.matches)
            .sorted { ($0.severity, $1.activeSince) > ($1.severity, $0.activeSince) }
    }

    public func acknowledgeAlert(_ id: AlertID, user: String, message: String) async throws(MonitoringError) {
        try checkSizes(user: user, message: message)
        var stored = try await openAlert(id, doing: "acknowledge")
        let before = stored
        let notification = try AlertStateMachine.acknowledge(
            &stored, by: user, message: message, notify: options.enableNotifications, at: now())
        try await commit(stored, replacing: before)
        notifier?.enqueue(notification.map { [$0] } ?? [])
        publish()
        logger.notice("alert acknowledged", metadata: ["alert": "\(id)", "rule": "\(stored.alert.name)", "user": "\(user)"])
    }

    public func resolveAlert(_ id: AlertID, user: String, message: String) async throws(MonitoringError) {
        try checkSizes(user: user, message: message)
        var stored = try await openAlert(id, doing: "resolve")
        let before = stored
        let notification = AlertStateMachine.resolve(
            &stored, by: user, message: message, notify: options.enableNotifications, at: now())
        try await commit(stored, replacing: before)
        notifier?.enqueue(notification.map { [$0] } ?? [])
        publish()
        logger.notice("alert resolved by hand", metadata: ["alert": "\(id)", "rule": "\(stored.alert.name)", "user": "\(user)"])
    }

    /// Applies a change made by hand (acknowledge, resolve) to the open alerts at once, before anything can
    /// suspend, so that an evaluation running meanwhile builds on it instead of writing the old state back; then
    /// stores it in order. When the store refuses it, the alert is put back as it was.
    private func commit(_ changed: StoredAlert, replacing before: StoredAlert) async throws(MonitoringError) {
        let rule = changed.alert.ruleID
        let fingerprint = changed.alert.fingerprint
        open[rule]?[fingerprint] = changed.alert.status == .resolved ? nil : changed
        do throws(MonitoringError) {
            try await saveInOrder([changed])
        } catch {
            if open[rule] != nil, open[rule]?[fingerprint] == nil || open[rule]?[fingerprint]?.alert == changed.alert {
                open[rule]?[fingerprint] = before
            }
            throw error
        }
    }

    /// Stores alert changes in the order the engine made them. The actor is reentrant: without this, an
    /// evaluation's write that began before a hand resolution could land after it and bring the alert back.
    private func saveInOrder(_ changed: [StoredAlert], removing removed: [AlertID] = []) async throws(MonitoringError) {
        let previous = alertWrites
        let store = self.store
        let write = Task<MonitoringError?, Never> {
            await previous?.value
            do throws(MonitoringError) {
                try await store.save(changed, removing: removed)
                return nil
            } catch {
                return error
            }
        }
        alertWrites = Task { _ = await write.value }
        if let error = await write.value { throw error }
    }

    /// Refuses a user name past `limits.max_name_length` or a message past `limits.max_text_length`.
    private func checkSizes(user: String, message: String) throws(MonitoringError) {
        if user.utf8.count > options.limits.maxNameLength {
            throw .invalidQuery(
                "user is \(user.utf8.count) bytes long, more than limits.max_name_length (\(options.limits.maxNameLength))")
        }
        if message.utf8.count > options.limits.maxTextLength {
            throw .invalidQuery(
                "message is \(message.utf8.count) bytes long, more than limits.max_text_length (\(options.limits.maxTextLength))")
        }
    }

    /// Replaces the rules declared in files (those with a `source`) by `declared`: new ones are added, changed
    /// ones updated, and ones no longer declared deleted. Rules created over the API are left alone.
    ///
    /// - Throws: the first rule that does not validate; nothing is changed then.
    public func replaceFileRules(_ declared: [AlertRule]) async throws(MonitoringError) {
        var validated: [ValidatedAlertRule] = []
        for rule in declared { validated.append(try rule.validated(limits: options.limits)) }
        let existingByName = Dictionary(
            rules.values.filter { $0.rule.source != nil }.map { ($0.rule.name, $0) }, uniquingKeysWith: { a, _ in a })
        for candidate in validated {
            if let clash = rules.values.first(where: { $0.rule.name == candidate.rule.name && $0.rule.source == nil }) {
                throw MonitoringError(
                    .invalidAlertCondition,
                    "rule '\(candidate.rule.name)' in \(candidate.rule.source ?? "a file") has the name of a rule created over the API (id \(clash.rule.id))",
                    hint: "rename one of them")
            }
        }
        let declaredNames = Set(validated.map(\.rule.name))
        for (name, existing) in existingByName where !declaredNames.contains(name) {
            try await closeAlerts(of: existing.rule.id, message: "the rule is no longer declared")
            _ = try await store.deleteRule(existing.rule.id)
            rules[existing.rule.id] = nil
        }
        for candidate in validated {
            var rule = candidate.rule
            if let existing = existingByName[rule.name] {
                rule.id = existing.rule.id
                rule.createdAt = existing.rule.createdAt
                guard existing.rule.withoutTimes != rule.withoutTimes else { continue }
                rule.updatedAt = now()
                try await store.save(rule)
                let revalidated = try rule.validated(limits: options.limits)
                if existing.query != revalidated.query || existing.condition != revalidated.condition {
                    try await closeAlerts(of: rule.id, message: "the rule's query or condition changed")
                }
                rules[rule.id] = revalidated
            } else {
                rule.createdAt = now()
                rule.updatedAt = rule.createdAt
                try await store.save(rule)
                rules[rule.id] = try rule.validated(limits: options.limits)
            }
        }
        logger.info("alert rules in effect", metadata: [
            "rules": "\(rules.count)", "declared": "\(declared.count)",
            "from_api": "\(rules.values.filter { $0.rule.source == nil }.count)",
        ])
    }

    // MARK: Silences

    /// Stores a silence; it mutes matching alerts from the next evaluation on.
    ///
    /// - Throws: `invalidQuery` for a silence that ends before it starts, has no selective matcher or no creator.
    public func createSilence(_ silence: Silence) async throws(MonitoringError) -> Silence {
        guard options.enableSilencing else {
            throw MonitoringError(.configurationError, "silences are turned off", hint: "set alerts.enable_silencing: true")
        }
        let silence = try silence.validated(limits: options.limits)
        let current = silences.filter { $0.endsAt > now() }.count
        guard current < options.limits.maxSilences || silences.contains(where: { $0.id == silence.id }) else {
            throw .invalidQuery(
                "the host already holds \(current) silences in effect or scheduled, the limits.max_silences limit",
                hint: "expire silences first")
        }
        try await store.save(silence)
        silences.removeAll { $0.id == silence.id }
        silences.append(silence)
        return silence
    }

    /// Ends a silence now.
    public func expireSilence(_ id: String) async throws(MonitoringError) {
        guard var silence = silences.first(where: { $0.id == id }) else {
            throw MonitoringError(.alertNotFound, "no silence \(id) is in effect or scheduled", hint: "list them with GET /api/v1/silences")
        }
        silence.endsAt = max(now(), silence.startsAt)
        try await store.save(silence)
        silences.removeAll { $0.id == id }
    }

    /// The silences in effect or scheduled (and, with `includeExpired`, the ended ones still stored).
    public func listSilences(includeExpired: Bool = false) async throws(MonitoringError) -> [Silence] {
        if includeExpired { return try await store.silences() }
        let time = now()
        return silences.filter { $0.endsAt > time }.sorted { $0.startsAt < $1.startsAt }
    }

    // MARK: Evaluation

    /// Evaluates every enabled rule whose interval has passed since its last evaluation; returns how many ran.
    @discardableResult
    public func evaluateDue(at time: Date? = nil) async -> Int {
        let time = time ?? now()
        // Only when one has ended: every change of `silences` wakes the evaluation job.
        if silences.contains(where: { $0.endsAt <= time }) { silences.removeAll { $0.endsAt <= time } }
        var ran = 0
        let cache = EvaluationCache()
        for (id, rule) in rules.sorted(by: { $0.value.rule.name < $1.value.rule.name }) where rule.rule.enabled {
            let interval = rule.rule.evaluationInterval ?? options.evaluationInterval
            if let last = lastEvaluation[id], time < last.addingTimeInterval(interval.inSeconds) { continue }
            if (try? await evaluateOne(id, at: time, cache: cache)) != nil { ran += 1 }
        }
        publish()
        return ran
    }

    /// How long until the next enabled rule is due (zero when one has never been evaluated) or the next silence
    /// ends; `nil` when there is neither.
    public func delayUntilNextDue(at time: Date? = nil) -> Duration? {
        let time = time ?? now()
        var next: Date?
        for (id, rule) in rules where rule.rule.enabled {
            guard let last = lastEvaluation[id] else { return .zero }
            let due = last.addingTimeInterval((rule.rule.evaluationInterval ?? options.evaluationInterval).inSeconds)
            next = min(next ?? due, due)
        }
        for silence in silences where silence.endsAt > time {
            next = min(next ?? silence.endsAt, silence.endsAt)
        }
        guard let next else { return nil }
        return .seconds(max(0, next.timeIntervalSince(time)))
    }

    /// Evaluates the rules whose query reads logs now, whatever their interval (new log entries were written).
    @discardableResult
    public func evaluateLogRules(at time: Date? = nil) async -> Int {
        let time = time ?? now()
        var ran = 0
        let cache = EvaluationCache()
        var attempted = false
        for (id, rule) in rules where rule.rule.enabled && rule.query.readsLogs {
            attempted = true
            if (try? await evaluateOne(id, at: time, cache: cache)) != nil { ran += 1 }
        }
        // Called after every log batch: with no log rule there is nothing new to publish.
        if attempted { publish() }
        return ran
    }

    /// Evaluates one rule at `time` and returns its open alerts.
    ///
    /// - Throws: `alertRuleNotFound`, or the query's error (the rule's alerts are left as they were).
    @discardableResult
    public func evaluate(_ id: AlertRuleID, at time: Date) async throws(MonitoringError) -> [Alert] {
        defer { publish() }
        return try await evaluateOne(id, at: time, cache: EvaluationCache())
    }

    private func evaluateOne(_ id: AlertRuleID, at time: Date, cache: EvaluationCache) async throws(MonitoringError) -> [Alert] {
        guard let rule = rules[id] else { throw Self.ruleNotFound(id) }
        guard evaluating.insert(id).inserted else { return open[id].map { Array($0.values.map(\.alert)) } ?? [] }
        defer { evaluating.remove(id) }
        let clock = ContinuousClock()
        let started = clock.now
        let series: [QuerySeries]
        do throws(MonitoringError) {
            series = try await evaluator.evaluate(rule.query, at: time, cache: cache)
        } catch {
            status[id, default: RuleEvaluationStatus()].failures += 1
            status[id, default: RuleEvaluationStatus()].lastError = error.message
            finish(id, at: time, started: started, clock: clock)
            logger.warning("alert rule evaluation failed", metadata: ["rule": "\(rule.rule.name)", "error": "\(error.message)"])
            throw error
        }
        // The rule may have been changed, replaced or deleted while its query ran: that change resolved (or
        // kept) its alerts, and this result belongs to a rule that no longer exists.
        guard rules[id] == rule else {
            finish(id, at: time, started: started, clock: clock)
            return open[id].map { Array($0.values.map(\.alert)) } ?? []
        }
        let outcome = apply(rule, series: series, at: time)
        status[id, default: RuleEvaluationStatus()].lastError = nil
        finish(id, at: time, started: started, clock: clock)
        do throws(MonitoringError) {
            try await saveInOrder(outcome.changed, removing: outcome.removed)
        } catch {
            logger.error("alert state could not be stored", metadata: ["rule": "\(rule.rule.name)", "error": "\(error.message)"])
        }
        notifier?.enqueue(outcome.notifications)
        return open[id].map { Array($0.values.map(\.alert)) } ?? []
    }

    private func finish(_ id: AlertRuleID, at time: Date, started: ContinuousClock.Instant, clock: ContinuousClock) {
        lastEvaluation[id] = time
        status[id, default: RuleEvaluationStatus()].evaluations += 1
        status[id, default: RuleEvaluationStatus()].lastEvaluatedAt = time
        status[id, default: RuleEvaluationStatus()].lastDuration = started.duration(to: clock.now)
    }

    /// One evaluation's series through the state machine; keeps the open alerts, the telemetry and the overflow
    /// warning, and returns what to store and notify.
    private func apply(_ rule: ValidatedAlertRule, series: [QuerySeries], at time: Date) -> AlertStateMachine.Step {
        let id = rule.rule.id
        let redactor = options.redactor
        let matches = series.filter { rule.condition.holds(for: $0) }.map { item in
            let labels = Self.labels(of: item, rule: rule)
            // Templates expand with the real values; what is stored and sent is masked (docs/security.md).
            let annotations = Dictionary(uniqueKeysWithValues: rule.annotations.map { key, template in
                (key, redactor.isSecret(key: key)
                    ? Redactor.mask : redactor.redact(template.expand(labels: labels, value: item.value, rule: rule.rule.name)))
            })
            return AlertStateMachine.Match(
                labels: labels.map { Label($0.name, redactor.isSecret(key: $0.name) ? Redactor.mask : redactor.redact($0.value)) },
                annotations: annotations, value: item.value)
        }
        let machineRule = AlertStateMachine.Rule(
            id: id, name: rule.rule.name, description: rule.rule.description, severity: rule.rule.severity,
            forDuration: rule.rule.forDuration ?? options.defaultForDuration, keepFiringFor: rule.rule.keepFiringFor ?? .zero,
            maxAlerts: options.maxAlertsPerRule)
        let step = AlertStateMachine.evaluate(
            machineRule, open: open[id] ?? [:], matches: matches,
            silences: options.enableSilencing ? silences.filter { $0.isActive(at: time) } : [],
            notify: options.enableNotifications, at: time)
        firedTotal += UInt64(step.fired)
        let wasOverflowing = status[id]?.overflowing ?? false
        status[id, default: RuleEvaluationStatus()].overflowing = step.overflow > 0
        if step.overflow > 0 {
            status[id, default: RuleEvaluationStatus()].overflow += step.overflow
            // Once when it starts (it is counted every time): log rules run after every log batch.
            logger.log(
                level: wasOverflowing ? .debug : .warning,
                "an alert rule holds alerts.max_alerts_per_rule open alerts; more series were skipped", metadata: [
                "rule": "\(rule.rule.name)", "skipped": "\(step.overflow)", "max_alerts_per_rule": "\(options.maxAlertsPerRule)",
            ])
        }
        open[id] = step.open.isEmpty ? nil : step.open
        return step
    }

    /// A series' labels, the rule's labels (expanded; they win), and `alertname`.
    static func labels(of series: QuerySeries, rule: ValidatedAlertRule) -> [Label] {
        var byName: [String: String] = [:]
        for label in series.labels { byName[label.name] = label.value }
        for (name, template) in rule.labels {
            byName[name] = template.expand(labels: series.labels, value: series.value, rule: rule.rule.name)
        }
        byName["alertname"] = rule.rule.name
        return byName.map { Label($0.key, $0.value) }.sorted()
    }

    /// Resolves every open alert of a rule (it changed or went away).
    private func closeAlerts(of id: AlertRuleID, message: String) async throws(MonitoringError) {
        guard let alerts = open[id] else { return }
        let step = AlertStateMachine.close(alerts, message: message, notify: options.enableNotifications, at: now())
        open[id] = nil
        try await saveInOrder(step.changed, removing: step.removed)
        notifier?.enqueue(step.notifications)
        publish()
    }

    // MARK: Lookups and telemetry

    /// How each rule's evaluations went, by rule name.
    public var evaluationStatus: [String: RuleEvaluationStatus] {
        var byName: [String: RuleEvaluationStatus] = [:]
        for (id, rule) in rules { byName[rule.rule.name] = status[id] ?? RuleEvaluationStatus() }
        return byName
    }

    /// Open alerts by status.
    public var openCounts: [AlertStatus: Int] {
        var counts: [AlertStatus: Int] = [:]
        for alert in open.values.flatMap(\.values) {
            counts[alert.alert.status, default: 0] += 1
            if alert.alert.isSilenced { counts[.silenced, default: 0] += 1 }
        }
        return counts
    }

    private func editableRule(_ id: AlertRuleID, doing what: String) throws(MonitoringError) -> ValidatedAlertRule {
        guard let rule = rules[id] else { throw Self.ruleNotFound(id) }
        if let source = rule.rule.source {
            throw MonitoringError(
                .configurationError, "rule '\(rule.rule.name)' is declared in \(source); cannot \(what) it over the API",
                hint: "edit the file and reload the configuration")
        }
        return rule
    }

    /// The open alert `id`. Suspends only to explain why it is not open, after nothing was changed.
    private func openAlert(_ id: AlertID, doing what: String) async throws(MonitoringError) -> StoredAlert {
        for alerts in open.values {
            if let stored = alerts.values.first(where: { $0.alert.id == id }) { return stored }
        }
        if let stored = try await store.alert(id) {
            throw MonitoringError(
                .alertNotFound, "alert \(id) is \(stored.alert.status.rawValue); only open alerts can be \(what)d")
        }
        throw MonitoringError(.alertNotFound, "no alert \(id)", hint: "list the open alerts with GET /api/v1/alerts")
    }

    static func ruleNotFound(_ id: AlertRuleID) -> MonitoringError {
        MonitoringError(.alertRuleNotFound, "no alert rule \(id)", hint: "list the rules with GET /api/v1/rules")
    }
}

extension AlertRule {
    /// The rule with its creation and update times cleared, to compare what it says.
    var withoutTimes: AlertRule {
        var rule = self
        rule.createdAt = Date(timeIntervalSince1970: 0)
        rule.updatedAt = rule.createdAt
        return rule
    }
}

extension AlertQuery {
    /// Whether the query reads log entries (it is then also evaluated as new entries are written).
    public var readsLogs: Bool {
        switch self {
        case .logCount, .lastLogMessage: return true
        case .number, .instant, .range, .health: return false
        case .aggregate(_, _, let inner): return inner.readsLogs
        case .binary(_, let lhs, let rhs): return lhs.readsLogs || rhs.readsLogs
        }
    }
}
