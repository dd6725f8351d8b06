import Foundation
import Logging
import StepflowAlerting
import StepflowCore
import StepflowStorage
import StepflowTestSupport
import Testing

@Suite("Retention of alert history")
struct AlertHistoryRetentionTests {
    @Test("alerts resolved and silences ended before alerts.retention_days are deleted; open alerts and rules stay")
    func deletesOldHistory() async throws {
        let fixture = try AlertFixture()
        defer { fixture.remove() }
        let store = AlertStore(database: fixture.database)
        let old = try await fixture.firingDiskAlert()
        try await fixture.engine.resolveAlert(old.id, user: "ana", message: "fixed")
        var other = immediateDiskRule
        other.name = "DiskStillFull"
        _ = try await fixture.engine.createAlertRule(other)
        let start = fixture.clock.now
        let ended = try await fixture.engine.createSilence(Silence(
            matchers: [LabelMatcher.equal("alertname", "DiskAlmostFull")], startsAt: start,
            endsAt: start.addingTimeInterval(3600), createdBy: "ana", comment: "maintenance"))
        let active = try await fixture.engine.createSilence(Silence(
            matchers: [LabelMatcher.equal("alertname", "Nothing")], startsAt: start,
            endsAt: start.addingTimeInterval(30 * 86_400), createdBy: "ana", comment: "a month"))
        fixture.clock.advance(by: 4 * 86_400)
        fixture.disk(["/": 0.97])
        await fixture.tick()  // DiskStillFull and a new DiskAlmostFull are open now
        let open = try await fixture.active()
        #expect(open.count == 2)

        let now = fixture.clock.now
        let keepAll = RetentionJob(
            metrics: MetricStore(database: fixture.database), healthChecks: HealthCheckStore(database: fixture.database),
            retentionDays: 0, alerts: (store, 0), logger: Logger(label: "test"), now: { now })
        try await keepAll.run()
        #expect(keepAll.deleted == 0)
        await #expect(try store.alert(old.id) != nil)

        let job = RetentionJob(
            metrics: MetricStore(database: fixture.database), healthChecks: HealthCheckStore(database: fixture.database),
            retentionDays: 0, alerts: (store, 3), logger: Logger(label: "test"), now: { now })
        try await job.run()
        #expect(job.deleted == 2)
        await #expect(try store.alert(old.id) == nil)
        await #expect(try Set(store.openAlerts().map(\.alert.id)) == Set(open.map(\.id)))
        await #expect(try store.silences().map(\.id) == [active.id])
        await #expect(try store.silences().contains { $0.id == ended.id } == false)
        await #expect(try store.rules().count == 2)
    }
}
