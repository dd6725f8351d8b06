import Foundation
import Logging
import StepflowAlerting
import StepflowCore
import Synchronization
import Testing

/// A channel whose send never returns and ignores cancellation, as a client stuck in a blocking call does.
final class DeafChannel: AlertChannel {
    let name = "deaf"
    func send(_ notifications: [AlertNotification]) async throws(MonitoringError) {
        await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }  // never resumed
    }
}

/// Issue 13, point 3: the notifier's races. The timeout test failed before the fix (the attempt waited for the
/// deaf channel for ever); the churn test is a stress test of a race whose window is a few instructions wide,
/// which it did not catch before the fix in three runs: it guards the invariant, it does not prove the race.
@Suite("The alert notifier under concurrent changes")
struct AlertNotifierTests {
    static func notification(_ index: Int) -> AlertNotification {
        AlertNotification(
            event: .firing,
            alert: Alert(
                ruleID: .random(), name: "Rule\(index)", description: "", severity: .warning, status: .firing,
                labels: [], annotations: [:], value: .number(Double(index)), activeSince: Date(), firedAt: Date(),
                lastActiveAt: Date()))
    }

    @Test("flush returns while channels are replaced and removed during enqueues: nothing is counted that no one delivers")
    func flushSurvivesChannelChurn() async throws {
        let notifier = AlertNotifier(channels: [CollectingChannel(name: "a")], timeout: .seconds(5), logger: Logger(label: "test"))
        let churn = Task.detached {
            for round in 0..<2_000 {
                notifier.add(CollectingChannel(name: "a"))  // replaces, finishing the old queue
                notifier.add(CollectingChannel(name: "b\(round % 3)"))
                await notifier.remove("b\((round + 1) % 3)")
            }
        }
        let batch = [Self.notification(0)]
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { for _ in 0..<5_000 { notifier.enqueue(batch) } }
            }
        }
        await churn.value
        #expect(await Self.returns(within: .seconds(20)) { await notifier.flush() },
                "flush() never returned: a batch was counted for a queue that had been finished")
    }

    @Test("one attempt is cut at notification_timeout even when the channel ignores cancellation")
    func attemptIsCutAtTimeout() async throws {
        let notifier = AlertNotifier(channels: [DeafChannel()], timeout: .milliseconds(300), logger: Logger(label: "test"))
        let started = ContinuousClock.now
        notifier.enqueue([Self.notification(1)])
        let deadline = started + .seconds(20)
        while notifier.counts["deaf"]?.failed != 1, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(notifier.counts["deaf"]?.failed == 1, "the batch was not given up on at its timeout")
        #expect(notifier.counts["deaf"]?.lastError?.contains("did not answer within") == true)
        #expect(await Self.returns(within: .seconds(10)) { await notifier.flush() })
    }

    /// Whether `work` returns within `limit`; a `work` that never returns is left behind, not waited for.
    static func returns(within limit: Duration, _ work: @escaping @Sendable () async -> Void) async -> Bool {
        let finished = Mutex(false)
        let task = Task {
            await work()
            finished.withLock { $0 = true }
        }
        let deadline = ContinuousClock.now + limit
        while !finished.withLock({ $0 }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        task.cancel()
        return finished.withLock { $0 }
    }
}
