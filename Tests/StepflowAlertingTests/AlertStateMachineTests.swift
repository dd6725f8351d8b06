import Foundation
import StepflowAlerting
import StepflowCore
import StepflowStorage
import Testing

/// Issue 13, point 3: every transition of ``AlertStateMachine``, driven with values alone.
@Suite("The alert state machine")
struct AlertStateMachineTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let rule = AlertStateMachine.Rule(
        id: AlertRuleID("r1"), name: "DiskFull", severity: .critical, forDuration: .seconds(60), maxAlerts: 10)

    func match(_ mount: String, _ value: Double = 0.95) -> AlertStateMachine.Match {
        AlertStateMachine.Match(
            labels: [Label("alertname", "DiskFull"), Label("mount", mount)], annotations: ["summary": mount],
            value: .number(value))
    }

    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    /// Runs evaluations at the given seconds with the given matches, each from the previous step's open alerts.
    func run(
        _ rule: AlertStateMachine.Rule, _ steps: [(Double, [AlertStateMachine.Match])], notify: Bool = true,
        silences: [Silence] = [], from open: [String: StoredAlert] = [:]
    ) -> [AlertStateMachine.Step] {
        var current = open
        return steps.map { seconds, matches in
            let step = AlertStateMachine.evaluate(
                rule, open: current, matches: matches, silences: silences, notify: notify, at: at(seconds))
            current = step.open
            return step
        }
    }

    func events(_ step: AlertStateMachine.Step) -> [String] { step.notifications.map(\.event.rawValue) }

    @Test("a new match is pending; it fires once the condition has held for `for`, notified once")
    func pendingThenFiring() {
        let steps = run(rule, [(0, [match("/")]), (30, [match("/")]), (60, [match("/")]), (90, [match("/")])])
        #expect(steps[0].open.values.first?.alert.status == .pending)
        #expect(steps[0].notifications.isEmpty && steps[0].fired == 0)
        #expect(steps[1].open.values.first?.alert.status == .pending)
        #expect(steps[2].open.values.first?.alert.status == .firing)
        #expect(steps[2].fired == 1)
        #expect(events(steps[2]) == ["firing"])
        #expect(steps[2].open.values.first?.alert.firedAt == at(60))
        #expect(steps[3].notifications.isEmpty, "firing is notified once")
        #expect(steps[3].open.values.first?.alert.lastActiveAt == at(90))
    }

    @Test("with `for: 0` a match fires at once")
    func firesAtOnce() {
        var immediate = rule
        immediate.forDuration = .zero
        let step = run(immediate, [(0, [match("/")])])[0]
        #expect(step.open.values.first?.alert.status == .firing)
        #expect(step.fired == 1 && events(step) == ["firing"])
    }

    @Test("a pending alert whose condition stops goes without a trace or a notification")
    func pendingGoes() {
        let steps = run(rule, [(0, [match("/")]), (30, [])])
        #expect(steps[1].open.isEmpty)
        #expect(steps[1].removed == [steps[0].open.values.first!.alert.id])
        #expect(steps[1].changed.isEmpty && steps[1].notifications.isEmpty)
    }

    @Test("a firing alert whose condition stops is resolved and notified resolved")
    func firingResolves() throws {
        let steps = run(rule, [(0, [match("/")]), (60, [match("/")]), (70, [])])
        #expect(steps[2].open.isEmpty)
        let resolved = try #require(steps[2].changed.first)
        #expect(resolved.alert.status == .resolved)
        #expect(resolved.alert.resolvedAt == at(70))
        #expect(resolved.alert.resolutionMessage == "the condition no longer holds")
        #expect(events(steps[2]) == ["resolved"])
    }

    @Test("keep_firing_for holds a firing alert open through a gap in its condition")
    func keepFiringFor() {
        var flapping = rule
        flapping.forDuration = .zero
        flapping.keepFiringFor = .seconds(60)
        let steps = run(flapping, [(0, [match("/")]), (30, []), (59, []), (60, [])])
        #expect(steps[1].open.values.first?.alert.status == .firing, "held by keep_firing_for")
        #expect(steps[2].open.values.first?.alert.status == .firing)
        #expect(steps[3].open.isEmpty, "resolved once lastActiveAt + keep_firing_for has passed")
        #expect(events(steps[3]) == ["resolved"])
    }

    @Test("an acknowledged alert stays acknowledged while its condition holds, is not re-notified, and resolves notified")
    func acknowledged() throws {
        var immediate = rule
        immediate.forDuration = .zero
        let first = run(immediate, [(0, [match("/")])])[0]
        var stored = try #require(first.open.values.first)
        let acknowledgement = try AlertStateMachine.acknowledge(&stored, by: "ana", message: "on it", notify: true, at: at(5))
        #expect(acknowledgement?.event == .acknowledged && acknowledgement?.user == "ana")
        #expect(stored.alert.acknowledgedBy == "ana" && stored.alert.acknowledgedAt == at(5))
        let fingerprint = stored.alert.fingerprint
        let steps = run(immediate, [(10, [match("/")]), (20, [])], from: [fingerprint: stored])
        #expect(steps[0].open[fingerprint]?.alert.status == .acknowledged)
        #expect(steps[0].notifications.isEmpty)
        #expect(events(steps[1]) == ["resolved"], "an acknowledged alert was notified, so its resolution is too")
        let again = #expect(throws: MonitoringError.self) {
            try AlertStateMachine.acknowledge(&stored, by: "bo", message: "", notify: true, at: at(6))
        }
        #expect(again?.message.contains("already acknowledged by ana") == true)
    }

    @Test("a silence flags a firing alert and holds back its notification until it ends")
    func silenced() throws {
        var immediate = rule
        immediate.forDuration = .zero
        let silence = Silence(
            matchers: [try LabelMatcher("mount", .equal, "/")], startsAt: at(-10), endsAt: at(100), createdBy: "ana",
            comment: "maintenance")
        let quiet = run(immediate, [(0, [match("/"), match("/srv")])], silences: [silence])[0]
        let root = try #require(quiet.open.values.first { $0.alert.labels.contains(Label("mount", "/")) })
        #expect(root.alert.isSilenced)
        #expect(quiet.notifications.map { $0.alert.labels.first { $0.name == "mount" }?.value } == ["/srv"])
        let loud = run(immediate, [(110, [match("/"), match("/srv")])], from: quiet.open)[0]
        #expect(loud.notifications.map { $0.alert.labels.first { $0.name == "mount" }?.value } == ["/"])
    }

    @Test("without notifications nothing is notified, and a resolution owes nothing")
    func notificationsOff() {
        var immediate = rule
        immediate.forDuration = .zero
        let steps = run(immediate, [(0, [match("/")]), (10, [])], notify: false)
        #expect(steps.allSatisfy { $0.notifications.isEmpty })
        #expect(steps[1].changed.first?.alert.status == .resolved)
    }

    @Test("a resolution by hand of an alert never notified owes no notification")
    func resolveUnnotified() throws {
        let pending = try #require(run(rule, [(0, [match("/")])])[0].open.values.first)
        var stored = pending
        #expect(AlertStateMachine.resolve(&stored, by: "ana", message: "false alarm", notify: true, at: at(1)) == nil)
        #expect(stored.alert.status == .resolved && stored.alert.resolvedBy == "ana")
        #expect(stored.alert.resolutionMessage == "false alarm")
    }

    @Test("past maxAlerts more matches are counted, not opened; one series counts once")
    func overflowAndDuplicates() {
        var small = rule
        small.maxAlerts = 2
        let step = run(small, [(0, [match("/a"), match("/a"), match("/b"), match("/c"), match("/d")])])[0]
        #expect(step.open.count == 2)
        #expect(step.overflow == 2)
    }

    @Test("closing a rule's alerts removes the pending ones and resolves the others with the reason")
    func close() {
        var immediate = rule
        immediate.forDuration = .zero
        let firing = run(immediate, [(0, [match("/")])])[0].open
        let pending = run(rule, [(0, [match("/srv")])])[0].open
        let step = AlertStateMachine.close(
            firing.merging(pending) { a, _ in a }, message: "the rule was deleted", notify: true, at: at(5))
        #expect(step.removed == pending.values.map(\.alert.id))
        #expect(step.changed.map(\.alert.status) == [.resolved])
        #expect(step.changed.first?.alert.resolutionMessage == "the rule was deleted")
        #expect(step.notifications.map(\.message) == ["the rule was deleted"])
    }
}
