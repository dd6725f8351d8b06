import Foundation
import Logging
import StepflowAlerting
import StepflowCore
import StepflowMetrics
import StepflowStorage
import StepflowTestSupport
import Synchronization
import Testing

/// A channel that keeps what it is sent, and can be told to fail.
final class CollectingChannel: AlertChannel {
    let name: String
    private let received = Mutex<[AlertNotification]>([])
    private let failuresLeft: Mutex<Int>

    init(name: String = "collector", failing: Int = 0) {
        self.name = name
        failuresLeft = Mutex(failing)
    }

    var notifications: [AlertNotification] { received.withLock { $0 } }
    var events: [String] { notifications.map { "\($0.event.rawValue) \($0.alert.label("mount"))" } }

    func send(_ notifications: [AlertNotification]) async throws(MonitoringError) {
        let fail = failuresLeft.withLock { left -> Bool in
            guard left > 0 else { return false }
            left -= 1
            return true
        }
        if fail { throw MonitoringError(.networkError, "\(name) refused the connection") }
        received.withLock { $0 += notifications }
    }
}

extension Alert {
    func label(_ name: String) -> String { labels.first { $0.name == name }?.value ?? "" }
}

/// An alert engine over a real database, with a clock the test moves and a running notifier.
final class AlertFixture: Sendable {
    let directory: String
    let database: MonitoringDatabase
    let metrics: MetricsEngine
    let clock = ManualClock()
    let channel: CollectingChannel
    let notifier: AlertNotifier
    let engine: AlertEngine
    let logs: LogStore
    private let notifying: Task<Void, any Error>

    init(
        options: AlertEngineOptions = AlertEngineOptions(defaultForDuration: .seconds(60)),
        channels extra: [any AlertChannel] = [], timeout: Duration = .seconds(5), directory: String? = nil
    ) throws {
        self.directory = directory ?? Scratch.root + "alerts-" + UUID().uuidString
        database = try MonitoringDatabase(path: self.directory + "/a.sqlite")
        let clock = self.clock
        metrics = MetricsEngine(
            queue: MetricsWriteQueue(capacity: 100_000, batchSize: 1000), logger: Logger(label: "test"), now: { clock.now })
        logs = LogStore(database: database)
        channel = CollectingChannel()
        notifier = AlertNotifier(channels: [channel] + extra, timeout: timeout, logger: Logger(label: "test"))
        let evaluator = AlertQueryEvaluator(
            engine: metrics, metrics: MetricStore(database: database), logs: logs, health: nil)
        engine = AlertEngine(
            store: AlertStore(database: database), evaluator: evaluator, notifier: notifier, options: options,
            logger: Logger(label: "test"), now: { clock.now })
        let notifier = self.notifier
        notifying = Task { try await notifier.run() }
    }

    deinit { notifying.cancel() }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    /// Sets the disk gauge of each mount now.
    func disk(_ values: [String: Double]) {
        _ = metrics.record(values.map { mount, value in
            Metric(name: "disk_used_ratio", value: .gauge(value), labels: [Label("mount", mount)], timestamp: clock.now)
        })
    }

    /// Moves the clock, then evaluates what is due and waits for the notifications to go out.
    func tick(_ seconds: Double = 0) async {
        clock.advance(by: seconds)
        await engine.evaluateDue(at: clock.now)
        await notifier.flush()
    }

    func active() async throws -> [Alert] { try await engine.getActiveAlerts(filter: nil) }

    /// Creates `rule` (by default `diskRule` with `for: 0s`), fills `/` to 95 % and evaluates: the firing alert.
    func firingDiskAlert(_ rule: AlertRule = immediateDiskRule) async throws -> Alert {
        _ = try await engine.createAlertRule(rule)
        disk(["/": 0.95])
        await tick()
        return try #require(try await active().first)
    }
}

let diskRule = AlertRule(
    name: "DiskAlmostFull", description: "a filesystem is almost full", query: "disk_used_ratio",
    condition: .greaterThan(0.9), severity: .critical, labels: [Label("team", "ops")],
    annotations: ["summary": "{{ $labels.mount }} is {{ $value }} full ({{ $rule }})"],
    forDuration: .seconds(60), evaluationInterval: .seconds(10))

/// `diskRule` firing at once.
let immediateDiskRule: AlertRule = {
    var rule = diskRule
    rule.forDuration = .zero
    return rule
}()

@Suite("The alert engine", .serialized)
struct AlertEngineTests {
    @Test("a hand resolution racing an evaluation is never undone: the stored alert stays resolved by its user")
    func resolveRacingEvaluation() async throws {
        for round in 0..<40 {
            let fixture = try AlertFixture()
            defer { fixture.remove() }
            let alert = try await fixture.firingDiskAlert()
            fixture.clock.advance(by: 10)  // the rule is due again
            async let resolved: Void = fixture.engine.resolveAlert(alert.id, user: "ana", message: "fixed")
            async let evaluated = fixture.engine.evaluateDue(at: fixture.clock.now)
            _ = try await (resolved, evaluated)
            let stored = try await #require(try AlertStore(database: fixture.database).alert(alert.id))
            #expect(stored.alert.status == .resolved, "round \(round): \(stored.alert.status)")
            #expect(stored.alert.resolvedBy == "ana", "round \(round)")
        }
    }

    @Test("pending, then firing after for, notified once; resolved when the condition clears, notified; kept as history")
    func lifecycle() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        let id = try await fixture.engine.createAlertRule(diskRule)
        fixture.disk(["/": 0.95, "/srv": 0.5])
        await fixture.tick()
        var alerts = try await fixture.active()
        #expect(alerts.map(\.status) == [.pending])
        #expect(alerts.first?.label("mount") == "/")
        #expect(alerts.first?.labels.map(\.name) == ["alertname", "mount", "team"])
        #expect(fixture.channel.notifications.isEmpty)

        fixture.disk(["/": 0.96])
        await fixture.tick(30)
        #expect(try await fixture.active().map(\.status) == [.pending])
        fixture.disk(["/": 0.97])
        await fixture.tick(30)
        alerts = try await fixture.active()
        #expect(alerts.map(\.status) == [.firing])
        #expect(alerts.first?.annotations["summary"] == "/ is 0.97 full (DiskAlmostFull)")
        #expect(fixture.channel.events == ["firing /"])
        #expect(await fixture.engine.firedTotal == 1)

        fixture.disk(["/": 0.98])
        await fixture.tick(10)
        #expect(fixture.channel.events == ["firing /"])  // not again

        fixture.disk(["/": 0.5])
        await fixture.tick(10)
        #expect(try await fixture.active().isEmpty)
        #expect(fixture.channel.events == ["firing /", "resolved /"])
        let history = try await AlertStore(database: fixture.database).alerts(filter: AlertFilter(ruleID: id, statuses: [.resolved]))
        #expect(history.count == 1)
        #expect(history.first?.resolvedAt == fixture.clock.now)
        #expect(history.first?.firedAt != nil)
    }

    @Test("a pending alert that clears leaves nothing; rules evaluate only on their interval")
    func pendingClearsAndIntervals() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        _ = try await fixture.engine.createAlertRule(diskRule)
        fixture.disk(["/": 0.95])
        await fixture.tick()
        #expect(try await fixture.active().count == 1)
        fixture.disk(["/": 0.1])
        await fixture.tick(5)  // not due: the rule's interval is 10 s
        #expect(try await fixture.active().count == 1)
        await fixture.tick(5)
        #expect(try await fixture.active().isEmpty)
        await #expect(try AlertStore(database: fixture.database).alerts(filter: nil).isEmpty)
        #expect(fixture.channel.notifications.isEmpty)
    }

    @Test("the engine says when the next rule is due, so its job sleeps until then; a rule change wakes the job")
    func nextDue() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        let engine = fixture.engine
        #expect(await engine.delayUntilNextDue() == nil, "no rule, no silence: nothing is due")
        var slow = diskRule
        slow.name = "Slow"
        slow.evaluationInterval = .seconds(300)
        _ = try await engine.createAlertRule(slow)
        await engine.dueTimesChanged.wait()  // fired by the change (returns at once: the fire was remembered)
        #expect(await engine.delayUntilNextDue() == .zero, "a rule never evaluated is due now")
        await fixture.tick()
        #expect(await engine.delayUntilNextDue() == .seconds(300))
        #expect(!engine.dueTimesChanged.isPending, "an evaluation that changed no rule or silence must not wake the job")
        await fixture.tick()
        #expect(!engine.dueTimesChanged.isPending, "an evaluation that changed no rule or silence must not wake the job")
        fixture.clock.advance(by: 100)
        #expect(await engine.delayUntilNextDue() == .seconds(200))
        let fast = try await engine.createAlertRule(diskRule)
        await engine.dueTimesChanged.wait()
        await fixture.tick()
        #expect(await engine.delayUntilNextDue() == .seconds(10), "the soonest rule decides")
        var disabled = diskRule
        disabled.enabled = false
        try await engine.updateAlertRule(fast, rule: disabled)
        #expect(await engine.delayUntilNextDue() == .seconds(200), "a disabled rule is never due")
    }

    @Test("keep_firing_for holds a firing alert through a flap, then resolves it")
    func keepFiring() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        var rule = immediateDiskRule
        rule.keepFiringFor = .seconds(30)
        _ = try await fixture.engine.createAlertRule(rule)
        fixture.disk(["/": 0.95])
        await fixture.tick()
        #expect(try await fixture.active().map(\.status) == [.firing])  // for: 0 fires at once
        fixture.disk(["/": 0.5])
        await fixture.tick(10)
        await fixture.tick(10)
        #expect(try await fixture.active().map(\.status) == [.firing])  // cleared 20 s ago, within keep_firing_for
        fixture.disk(["/": 0.95])
        await fixture.tick(10)  // back at t30: the flap is absorbed
        fixture.disk(["/": 0.5])
        await fixture.tick(10)
        await fixture.tick(10)
        #expect(try await fixture.active().map(\.status) == [.firing])  // t50: cleared 20 s ago
        await fixture.tick(10)  // t60: cleared for keep_firing_for
        #expect(try await fixture.active().isEmpty)
        #expect(fixture.channel.events == ["firing /", "resolved /"])
    }

    @Test("an acknowledged alert stays acknowledged and quiet until it resolves; bad ids are clear errors")
    func acknowledgement() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        let alert = try await fixture.firingDiskAlert()
        try await fixture.engine.acknowledgeAlert(alert.id, user: "ana", message: "looking into it")
        await fixture.notifier.flush()
        #expect(fixture.channel.events == ["firing /", "acknowledged /"])
        #expect(fixture.channel.notifications.last?.user == "ana")
        for _ in 0..<3 {
            fixture.disk(["/": 0.99])
            await fixture.tick(10)
        }
        let acknowledged = try #require(try await fixture.active().first)
        #expect(acknowledged.status == .acknowledged)
        #expect(acknowledged.acknowledgedBy == "ana")
        #expect(acknowledged.acknowledgementMessage == "looking into it")
        #expect(fixture.channel.events.count == 2)
        await #expect(throws: MonitoringError.self) {
            try await fixture.engine.acknowledgeAlert(alert.id, user: "bo", message: "again")
        }
        fixture.disk(["/": 0.2])
        await fixture.tick(10)
        #expect(fixture.channel.events == ["firing /", "acknowledged /", "resolved /"])
        do {
            try await fixture.engine.acknowledgeAlert(alert.id, user: "ana", message: "late")
            Issue.record("a resolved alert was acknowledged")
        } catch {
            #expect(error.code == .alertNotFound)
            #expect(error.message.contains("is resolved"))
        }
        do {
            try await fixture.engine.acknowledgeAlert(AlertID("no-such-alert"), user: "ana", message: "?")
            Issue.record("an unknown alert was acknowledged")
        } catch {
            #expect(error.message == "no alert no-such-alert")
        }
    }

    @Test("resolving by hand closes the alert; if the condition still holds a new one opens")
    func manualResolution() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        let first = try await fixture.firingDiskAlert()
        try await fixture.engine.resolveAlert(first.id, user: "ana", message: "false alarm")
        await fixture.notifier.flush()
        #expect(try await fixture.active().isEmpty)
        #expect(fixture.channel.notifications.last?.event == .resolved)
        #expect(fixture.channel.notifications.last?.message == "false alarm")
        let stored = try await #require(try AlertStore(database: fixture.database).alert(first.id))
        #expect(stored.alert.resolvedBy == "ana")
        fixture.disk(["/": 0.95])
        await fixture.tick(10)
        let second = try #require(try await fixture.active().first)
        #expect(second.id != first.id)
    }

    @Test("a silence mutes matching alerts, which keep their state; when it expires they are notified")
    func silences() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        _ = try await fixture.engine.createAlertRule(immediateDiskRule)
        let now = fixture.clock.now
        let silence = try await fixture.engine.createSilence(Silence(
            matchers: [LabelMatcher.equal("alertname", "DiskAlmostFull"), try LabelMatcher("mount", .matchesRegex, "/srv.*")],
            startsAt: now, endsAt: now.addingTimeInterval(60), createdBy: "ana", comment: "migrating /srv"))
        fixture.disk(["/": 0.95, "/srv": 0.97])
        await fixture.tick()
        let alerts = try await fixture.active()
        #expect(alerts.map(\.status) == [.firing, .firing])
        #expect(alerts.filter(\.isSilenced).map { $0.label("mount") } == ["/srv"])
        #expect(try await fixture.engine.getActiveAlerts(filter: AlertFilter(statuses: [.silenced])).map { $0.label("mount") } == ["/srv"])
        #expect(fixture.channel.events == ["firing /"])
        fixture.disk(["/": 0.95, "/srv": 0.97])
        await fixture.tick(60)  // the silence has ended
        #expect(fixture.channel.events.sorted() == ["firing /", "firing /srv"])
        #expect(try await fixture.engine.listSilences().isEmpty)
        #expect(try await fixture.engine.listSilences(includeExpired: true).map(\.id) == [silence.id])
        await #expect(throws: MonitoringError.self) {
            try await fixture.engine.createSilence(Silence(
                matchers: [LabelMatcher.equal("alertname", "x")], startsAt: now, endsAt: now.addingTimeInterval(-1),
                createdBy: "ana", comment: "backwards"))
        }
    }

    @Test("after a restart a firing alert is still firing and not notified again; a pending one fires on time")
    func restart() async throws {
        let directory = Scratch.root + "alerts-restart-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start: Date
        do {
            let first = try AlertFixture(directory: directory)
            var firing = diskRule
            firing.forDuration = .zero
            _ = try await first.engine.createAlertRule(firing)
            var slow = diskRule
            slow.name = "DiskFullSlowly"
            slow.forDuration = .seconds(120)
            _ = try await first.engine.createAlertRule(slow)
            first.disk(["/": 0.95])
            await first.tick()
            #expect(first.channel.events == ["firing /"])
            start = first.clock.now
        }
        let second = try AlertFixture(directory: directory)
        second.clock.advance(by: start.timeIntervalSince(second.clock.now) + 60)
        try await second.engine.load()
        second.disk(["/": 0.95])
        await second.tick()
        var alerts = try await second.active()
        #expect(alerts.map { "\($0.name) \($0.status)" }.sorted() == ["DiskAlmostFull firing", "DiskFullSlowly pending"])
        #expect(second.channel.notifications.isEmpty)
        second.disk(["/": 0.95])
        await second.tick(60)  // 120 s after the condition began, before the restart
        alerts = try await second.active()
        #expect(alerts.map { "\($0.name) \($0.status)" }.sorted() == ["DiskAlmostFull firing", "DiskFullSlowly firing"])
        #expect(second.channel.notifications.map(\.alert.name) == ["DiskFullSlowly"])
    }

    @Test("max_alerts_per_rule caps a rule's open alerts and counts what it skipped")
    func overflow() async throws {
        let fixture = try AlertFixture(options: AlertEngineOptions(defaultForDuration: .zero, maxAlertsPerRule: 2))
        defer { fixture.remove() }
        _ = try await fixture.engine.createAlertRule(AlertRule(name: "AnyDisk", query: "disk_used_ratio", condition: .greaterThan(0)))
        fixture.disk(["/a": 1, "/b": 1, "/c": 1])
        await fixture.tick()
        #expect(try await fixture.active().count == 2)
        #expect(await fixture.engine.evaluationStatus["AnyDisk"]?.overflow == 1)
    }

    @Test("rules that do not validate are refused with the rule's name, and nothing is stored")
    func invalidRules() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        func refusal(_ rule: AlertRule) async -> MonitoringError? {
            do {
                _ = try await fixture.engine.createAlertRule(rule)
                return nil
            } catch {
                return error
            }
        }
        let badQuery = await refusal(AlertRule(name: "Bad", query: "rate(x)", condition: .greaterThan(1)))
        #expect(badQuery?.code == .invalidQuery)
        #expect(badQuery?.message.hasPrefix("rule 'Bad': at column 7") == true)
        let badCondition = await refusal(AlertRule(name: "Mismatch", query: "disk_used_ratio", condition: .contains("x")))
        #expect(badCondition?.code == .invalidAlertCondition)
        let badTemplate = await refusal(AlertRule(
            name: "Template", query: "disk_used_ratio", condition: .greaterThan(1), annotations: ["summary": "{{ $labls.mount }}"]))
        #expect(badTemplate?.message.contains("unknown template field '{{ $labls.mount }}'") == true)
        _ = try await fixture.engine.createAlertRule(diskRule)
        let duplicate = await refusal(diskRule)
        #expect(duplicate?.message.contains("a rule named 'DiskAlmostFull' already exists") == true)
        await #expect(try AlertStore(database: fixture.database).rules().map(\.name) == ["DiskAlmostFull"])
    }

    @Test("changing a rule's query resolves its alerts; deleting it too, and it is gone")
    func ruleChanges() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        let rule = immediateDiskRule
        let id = try await fixture.engine.createAlertRule(rule)
        fixture.disk(["/": 0.95])
        await fixture.tick()
        var changed = rule
        changed.annotations["runbook"] = "https://runbooks/disk"
        try await fixture.engine.updateAlertRule(id, rule: changed)
        #expect(try await fixture.active().count == 1)  // annotations only: the alert stays
        changed.condition = .greaterThan(0.99)
        try await fixture.engine.updateAlertRule(id, rule: changed)
        await fixture.notifier.flush()
        #expect(try await fixture.active().isEmpty)
        #expect(fixture.channel.events == ["firing /", "resolved /"])
        changed.condition = .greaterThan(0.9)
        try await fixture.engine.updateAlertRule(id, rule: changed)
        await fixture.tick(10)
        #expect(try await fixture.active().count == 1)
        try await fixture.engine.deleteAlertRule(id)
        await fixture.notifier.flush()
        #expect(try await fixture.active().isEmpty)
        #expect(fixture.channel.events.last == "resolved /")
        await #expect(throws: MonitoringError.self) { try await fixture.engine.getAlertRule(id) }
    }

    @Test("a log rule on the newest message fires through evaluateLogRules, without waiting for its interval")
    func logRules() async throws {
        let fixture = try AlertFixture(options: AlertEngineOptions(defaultForDuration: .zero))
        defer { fixture.remove() }
        _ = try await fixture.engine.createAlertRule(AlertRule(
            name: "PaymentTimeouts", query: #"last_log_message({component="billing", level>="error"}[5m])"#,
            condition: .contains("timeout"), annotations: ["message": "{{ $value }}"], evaluationInterval: .seconds(3600)))
        await fixture.tick()
        #expect(try await fixture.active().isEmpty)
        try await fixture.logs.insert([LogRow(LogEntry(
            level: .error, message: "gateway timeout after 30s", context: LogContext(component: "billing"),
            timestamp: fixture.clock.now))])
        fixture.clock.advance(by: 1)
        await fixture.engine.evaluateLogRules(at: fixture.clock.now)
        await fixture.notifier.flush()
        let alert = try #require(try await fixture.active().first)
        #expect(alert.annotations["message"] == "gateway timeout after 30s")
        #expect(alert.label("component") == "billing")
        #expect(fixture.channel.notifications.map(\.event) == [.firing])
    }

    @Test("a failing channel is retried, then counted as failed, and does not hold up the others")
    func failingChannel() async throws {
        let broken = CollectingChannel(name: "broken", failing: 1000)
        let flaky = CollectingChannel(name: "flaky", failing: 1)
        let fixture = try AlertFixture(channels: [broken, flaky], timeout: .milliseconds(700))
        defer { fixture.remove() }
        _ = try await fixture.firingDiskAlert()
        #expect(fixture.channel.events == ["firing /"])
        #expect(flaky.events == ["firing /"])
        #expect(broken.notifications.isEmpty)
        let counts = fixture.notifier.counts
        #expect(counts["broken"]?.failed == 1)
        #expect((counts["broken"]?.retries ?? 0) >= 1)
        #expect(counts["broken"]?.lastError == "broken refused the connection")
        #expect(counts["flaky"]?.sent == 1)
        #expect(counts["flaky"]?.retries == 1)
        #expect(counts["collector"]?.sent == 1)
    }
}
