import Foundation
import Logging
import StepflowCore
import StepflowScheduling
import StepflowTestSupport
import Testing

/// A job that burns `milliseconds` of CPU per call, by its thread's CPU clock, across two slices (an await
/// between them), and records the CPU its child task burns too.
private struct SpinningJob: ScheduledJob {
    let name: String
    let kind = "builtin"
    let milliseconds: UInt64

    static func spin(_ milliseconds: UInt64) {
        let until = ThreadCPUTime.nanoseconds() + milliseconds * 1_000_000
        var sink: UInt64 = 0
        while ThreadCPUTime.nanoseconds() < until { sink &+= 1 }
        _ = sink
    }

    func run() async throws {
        Self.spin(milliseconds / 2)
        await Task.yield()
        async let child: Void = Self.spin(milliseconds / 2)
        await child
    }
}

@Suite("The CPU each job uses")
struct CPUAccountingTests {
    @Test("a job's calls count their CPU, child tasks included; an idle job counts next to none")
    func jobCPU() async throws {
        let scheduler = Scheduler(clock: ContinuousClock(), maxBackoff: .seconds(1), jitter: 0, logger: Logger(label: "cpu-accounting-tests"))
        try scheduler.add(SpinningJob(name: "busy", milliseconds: 40), schedule: JobSchedule(interval: .milliseconds(100), timeout: .seconds(5)))
        try scheduler.add(SpinningJob(name: "idle", milliseconds: 0), schedule: JobSchedule(interval: .milliseconds(50), timeout: .seconds(5)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        // Calls that returned (a busy machine stretches each, so the job may be mid-call at any moment).
        #expect(await eventually { (scheduler.status(of: "busy")?.durations.count ?? 0) >= 5 })
        let busy = try #require(scheduler.status(of: "busy"))
        // Every call but one still in flight has returned and counted its 40 ms.
        let returned = Double(busy.durations.count)
        #expect(busy.cpuSeconds >= returned * 0.038, Comment(rawValue: "\(busy.cpuSeconds) s over \(returned) calls"))
        let idle = try #require(scheduler.status(of: "idle"))
        #expect(idle.cpuSeconds < Double(max(idle.runs, 1)) * 0.002, Comment(rawValue: "\(idle.cpuSeconds) s over \(idle.runs) calls"))
    }
}
