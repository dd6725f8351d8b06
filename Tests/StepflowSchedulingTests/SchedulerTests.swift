import Clocks
import Logging
import StepflowScheduling
import StepflowTestSupport
import Testing

@Suite("The scheduler")
struct SchedulerTests {
    let logger = Logger(label: "scheduler-tests")
    /// TestClock keeps a sleep whose deadline equals `now` suspended until the next advance, so a loop that
    /// registers its sleep just after an advance landing exactly on its deadline would miss a tick. Every
    /// advance that should wake a job overshoots by this much.
    let overshoot = Duration.milliseconds(1)

    func makeScheduler(_ clock: TestClock<Duration>, maxBackoff: Duration = .seconds(40)) -> Scheduler<TestClock<Duration>> {
        Scheduler(clock: clock, maxBackoff: maxBackoff, jitter: 0, logger: logger)
    }

    @Test("each job runs at once and then on its own interval")
    func runsOnInterval() async throws {
        let clock = TestClock()
        let scheduler = makeScheduler(clock)
        let fast = ScriptedJob(name: "fast", behaviour: .succeed)
        let slow = ScriptedJob(name: "slow", behaviour: .succeed)
        try scheduler.add(fast, schedule: JobSchedule(interval: .seconds(5), timeout: .seconds(1)))
        try scheduler.add(slow, schedule: JobSchedule(interval: .seconds(20), timeout: .seconds(1)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { fast.calls == 1 && slow.calls == 1 })
        for tick in 1...4 {
            // Wait until the job has slept again before moving time, so no tick is skipped.
            #expect(await eventually { scheduler.status(of: "fast")?.nextDelay != nil && scheduler.status(of: "fast")?.runs == UInt64(tick) })
            await clock.advance(by: .seconds(5) + overshoot)
            #expect(await eventually { fast.calls == tick + 1 })
        }
        #expect(await eventually { slow.calls == 2 })
        #expect(scheduler.status(of: "fast")?.runs == 5)
        #expect(scheduler.status(of: "fast")?.lastSuccess != nil)
    }

    @Test("how late each call starts after its planned time is measured: the cost of a busy host to the schedule")
    func measuresLateness() async throws {
        let clock = TestClock()
        let scheduler = makeScheduler(clock)
        let job = SlowJob(clock: clock, takes: .seconds(7))
        try scheduler.add(job, schedule: JobSchedule(interval: .seconds(5), timeout: .seconds(60)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { job.calls == 1 })
        // The first call takes 7 s of a 5 s interval: the second starts 2 s after its planned time.
        await clock.advance(by: .seconds(7) + overshoot)
        #expect(await eventually { job.calls == 2 })
        #expect(await eventually { scheduler.status(of: "slow")?.lateness.count == 2 })
        let status = try #require(scheduler.status(of: "slow"))
        #expect(status.maxLateness >= .seconds(2) && status.maxLateness <= .seconds(2) + overshoot, "\(status.maxLateness)")
    }

    @Test("a failing job is retried on the next tick, then with doubling waits capped at max_backoff")
    func backsOff() async throws {
        let clock = TestClock()
        let scheduler = makeScheduler(clock, maxBackoff: .seconds(40))
        let job = ScriptedJob(name: "flaky", behaviour: .fail)
        try scheduler.add(job, schedule: JobSchedule(interval: .seconds(10), timeout: .seconds(1)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { job.calls == 1 && scheduler.status(of: "flaky")?.nextDelay == .seconds(10) })
        // Expected waits after failures 1, 2, 3, 4: 10s, 20s, 40s, 40s (capped).
        for (expectedCalls, wait) in [(2, 10), (3, 20), (4, 40)] {
            // The previous call has returned (not only started): moving time past its deadline while it is still
            // on its way back would make it a timeout.
            #expect(await eventually { scheduler.status(of: "flaky")?.failures == UInt64(expectedCalls - 1) })
            await clock.advance(by: .seconds(wait - 1))
            #expect(job.calls == expectedCalls - 1, "called before its backoff ended")
            await clock.advance(by: .seconds(1) + overshoot)
            #expect(await eventually { job.calls == expectedCalls })
        }
        // The fourth call has started; wait until it has failed (nextDelay alone is already 40 s after the third).
        #expect(await eventually { scheduler.status(of: "flaky")?.failures == 4 && scheduler.status(of: "flaky")?.state == .failing })
        #expect(await eventually { scheduler.status(of: "flaky")?.nextDelay == .seconds(40) })
        let status = try #require(scheduler.status(of: "flaky"))
        #expect(status.failures == 4)
        #expect(status.consecutiveFailures == 4)
        #expect(status.lastError == "scripted failure")
        #expect(status.state == .failing)
        // Recovery resets the interval.
        job.set(.succeed)
        await clock.advance(by: .seconds(40) + overshoot)
        #expect(await eventually { scheduler.status(of: "flaky")?.state == .ok })
        #expect(await eventually { scheduler.status(of: "flaky")?.nextDelay == .seconds(10) })
        #expect(scheduler.status(of: "flaky")?.consecutiveFailures == 0)
    }

    @Test("a call that outlives its deadline is cancelled and counted, and other jobs keep their schedule")
    func timesOut() async throws {
        let clock = TestClock()
        let scheduler = makeScheduler(clock)
        let stuck = ScriptedJob(name: "stuck", behaviour: .hangUntilCancelled)
        let healthy = ScriptedJob(name: "healthy", behaviour: .succeed)
        try scheduler.add(stuck, schedule: JobSchedule(interval: .seconds(10), timeout: .seconds(3)))
        try scheduler.add(healthy, schedule: JobSchedule(interval: .seconds(1), timeout: .seconds(1)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { stuck.calls == 1 && healthy.calls == 1 })
        for tick in 1...3 {
            #expect(await eventually { scheduler.status(of: "healthy")?.state == .ok && healthy.calls == tick })
            await clock.advance(by: .seconds(1) + overshoot)
            #expect(await eventually { healthy.calls == tick + 1 })
        }
        #expect(await eventually { scheduler.status(of: "stuck")?.timeouts == 1 })
        #expect(scheduler.status(of: "stuck")?.lastError?.contains("deadline") == true)
    }

    @Test("a job that knows its next work sleeps until then, at least its interval, and is woken early by its signal")
    func selfTimedJob() async throws {
        let clock = TestClock()
        let scheduler = makeScheduler(clock)
        let job = SelfTimedJob(wanted: .seconds(30))
        try scheduler.add(job, schedule: JobSchedule(interval: .seconds(1), timeout: .seconds(5)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { job.calls == 1 && scheduler.status(of: "self-timed")?.nextDelay == .seconds(30) })
        await clock.advance(by: .seconds(29))
        #expect(job.calls == 1, "called before the delay it asked for")
        await clock.advance(by: .seconds(1) + overshoot)
        #expect(await eventually { job.calls == 2 })
        // New work: the signal ends the 30 s wait, but the call still waits for one interval since the last.
        #expect(await eventually { scheduler.status(of: "self-timed")?.runs == 2 && scheduler.status(of: "self-timed")?.state == .ok })
        job.wakeSignal?.fire()
        await clock.advance(by: .milliseconds(900))
        #expect(job.calls == 2, "a wake-up ran the job sooner than its interval")
        await clock.advance(by: .milliseconds(100) + overshoot)
        #expect(await eventually { job.calls == 3 })
        #expect(await eventually { scheduler.status(of: "self-timed")?.runs == 3 && scheduler.status(of: "self-timed")?.state == .ok })
        await clock.advance(by: .seconds(30) + overshoot)
        #expect(await eventually { job.calls == 4 })
        // A shorter wish than the interval still waits the interval.
        job.want(.milliseconds(10))
        #expect(await eventually { scheduler.status(of: "self-timed")?.runs == 4 && scheduler.status(of: "self-timed")?.state == .ok })
        job.wakeSignal?.fire()
        await clock.advance(by: .seconds(1) + overshoot)
        #expect(await eventually { job.calls == 5 && scheduler.status(of: "self-timed")?.nextDelay == .seconds(1) })
        await clock.advance(by: .milliseconds(500))
        #expect(job.calls == 5)
        await clock.advance(by: .milliseconds(500) + overshoot)
        #expect(await eventually { job.calls == 6 })
    }

    @Test("many calls share one watchdog: a slow call among quick ones still times out at its own deadline")
    func watchdogAmongQuickCalls() async throws {
        let clock = TestClock()
        let scheduler = makeScheduler(clock)
        let stuck = ScriptedJob(name: "stuck", behaviour: .hangUntilCancelled)
        let quick = (1...5).map { ScriptedJob(name: "quick-\($0)", behaviour: .succeed) }
        // The quick jobs' deadlines (10 s) are later than the stuck one's (2 s) when they register after it,
        // and earlier when the stuck one registers after them: both orders must cut the stuck call at 2 s.
        for job in quick { try scheduler.add(job, schedule: JobSchedule(interval: .seconds(1), timeout: .seconds(10))) }
        try scheduler.add(stuck, schedule: JobSchedule(interval: .seconds(30), timeout: .seconds(2)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { stuck.calls == 1 && quick.allSatisfy { $0.calls == 1 } })
        #expect(await eventually { quick.allSatisfy { scheduler.status(of: $0.name)?.state == .ok } })
        await clock.advance(by: .seconds(1) + overshoot)
        #expect(await eventually { quick.allSatisfy { $0.calls == 2 } })
        #expect(scheduler.status(of: "stuck")?.timeouts == 0)
        await clock.advance(by: .seconds(1) + overshoot)
        #expect(await eventually { scheduler.status(of: "stuck")?.timeouts == 1 })
        #expect(quick.allSatisfy { scheduler.status(of: $0.name)?.timeouts == 0 })
    }

    @Test("a job still busy in an earlier call is skipped, not called again")
    func skipsBusyJob() async throws {
        let clock = TestClock()
        let scheduler = makeScheduler(clock)
        let job = ScriptedJob(name: "busy", behaviour: .succeed)
        job.setBusy(true)
        try scheduler.add(job, schedule: JobSchedule(interval: .seconds(5), timeout: .seconds(1)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { scheduler.status(of: "busy")?.state == .stuck })
        await clock.advance(by: .seconds(5) + overshoot)
        #expect(await eventually { scheduler.status(of: "busy")?.skipped == 2 })
        #expect(job.calls == 0)
        job.setBusy(false)
        await clock.advance(by: .seconds(5) + overshoot)
        #expect(await eventually { job.calls == 1 })
    }

    @Test("stopping the scheduler shuts every job down")
    func shutsJobsDown() async throws {
        let clock = TestClock()
        let scheduler = makeScheduler(clock)
        let job = ScriptedJob(name: "one", behaviour: .succeed)
        try scheduler.add(job, schedule: JobSchedule(interval: .seconds(5), timeout: .seconds(1)))
        let task = Task { try await scheduler.run() }
        #expect(await eventually { job.calls == 1 })
        task.cancel()
        try await task.value
        #expect(job.wasShutDown)
        #expect(scheduler.status(of: "one")?.state == .stopped)
    }

    @Test("a duplicate job name is refused")
    func refusesDuplicates() throws {
        let scheduler = makeScheduler(TestClock())
        try scheduler.add(ScriptedJob(name: "x", behaviour: .succeed), schedule: JobSchedule(interval: .seconds(1), timeout: .seconds(1)))
        #expect(throws: SchedulerError.self) {
            try scheduler.add(ScriptedJob(name: "x", behaviour: .succeed), schedule: JobSchedule(interval: .seconds(1), timeout: .seconds(1)))
        }
    }
}

@Suite("The circuit breaker and jobs that come and go")
struct BreakerAndDynamicJobTests {
    let logger = Logger(label: "scheduler-tests")
    let overshoot = Duration.milliseconds(1)

    @Test("after breaker_failures failures the breaker opens for the cool-down, then a trial call closes it")
    func breakerOpensAndCloses() async throws {
        let clock = TestClock()
        let scheduler = Scheduler(
            clock: clock, maxBackoff: .seconds(60), jitter: 0, breakerFailures: 3, breakerCooldown: .seconds(30),
            logger: logger)
        let job = ScriptedJob(name: "down", behaviour: .fail)
        try scheduler.add(job, schedule: JobSchedule(interval: .seconds(5), timeout: .seconds(1)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        // Failures 1 and 2: closed, waits of 5s then 10s. Failure 3 opens the breaker: a 30s cool-down.
        #expect(await eventually { job.calls == 1 && scheduler.status(of: "down")?.nextDelay == .seconds(5) })
        await clock.advance(by: .seconds(5) + overshoot)
        #expect(await eventually { job.calls == 2 && scheduler.status(of: "down")?.nextDelay == .seconds(10) })
        #expect(scheduler.status(of: "down")?.breaker == .closed)
        await clock.advance(by: .seconds(10) + overshoot)
        #expect(await eventually { job.calls == 3 && scheduler.status(of: "down")?.breaker == .open })
        #expect(scheduler.status(of: "down")?.nextDelay == .seconds(30))
        #expect(scheduler.status(of: "down")?.breakerOpenings == 1)
        await clock.advance(by: .seconds(29))
        #expect(job.calls == 3, "called while the breaker was open")
        // The trial call fails: open again, still capped at the cool-down.
        await clock.advance(by: .seconds(1) + overshoot)
        #expect(await eventually { job.calls == 4 && scheduler.status(of: "down")?.breaker == .open })
        #expect(scheduler.status(of: "down")?.breakerOpenings == 2)
        // The next trial succeeds: closed, back to the interval.
        job.set(.succeed)
        await clock.advance(by: .seconds(30) + overshoot)
        #expect(await eventually { job.calls == 5 && scheduler.status(of: "down")?.breaker == .closed })
        #expect(await eventually { scheduler.status(of: "down")?.nextDelay == .seconds(5) })
        #expect(scheduler.status(of: "down")?.durations.count == 5)
    }

    @Test("a job added while the scheduler runs starts at once; a removed one stops and is shut down")
    func addAndRemoveWhileRunning() async throws {
        let clock = TestClock()
        let scheduler = Scheduler(clock: clock, maxBackoff: .seconds(60), jitter: 0, logger: logger)
        let first = ScriptedJob(name: "first", behaviour: .succeed)
        try scheduler.add(first, schedule: JobSchedule(interval: .seconds(5), timeout: .seconds(1)))
        let task = Task { try await scheduler.run() }
        defer { task.cancel() }
        #expect(await eventually { first.calls == 1 })

        let late = ScriptedJob(name: "late", behaviour: .succeed)
        try scheduler.add(late, schedule: JobSchedule(interval: .seconds(5), timeout: .seconds(1)))
        #expect(await eventually { late.calls == 1 })
        #expect(scheduler.jobNames == ["first", "late"])

        #expect(await scheduler.remove("first"))
        #expect(first.wasShutDown)
        #expect(scheduler.status(of: "first") == nil)
        await clock.advance(by: .seconds(5) + overshoot)
        #expect(await eventually { late.calls == 2 })
        #expect(first.calls == 1)
        #expect(await scheduler.remove("first") == false)
        // The name is free again.
        try scheduler.add(ScriptedJob(name: "first", behaviour: .succeed), schedule: JobSchedule(interval: .seconds(5), timeout: .seconds(1)))
    }
}

@Suite("Backoff")
struct BackoffTests {
    @Test("waits double per further failure and never exceed the cap")
    func doubling() {
        let backoff = Backoff(maxBackoff: .seconds(300))
        let waits = (0...8).map { backoff.delay(interval: .seconds(30), consecutiveFailures: $0) }
        #expect(waits == [30, 30, 60, 120, 240, 300, 300, 300, 300].map { Duration.seconds($0) })
        let breaker = CircuitBreaker(failureThreshold: 4, cooldown: .seconds(600), backoff: backoff)
        #expect(breaker.cooldown == .seconds(300), "the cool-down is capped at max_backoff")
        #expect(breaker.delay(interval: .seconds(30), consecutiveFailures: 3) == .seconds(120))
        #expect(breaker.delay(interval: .seconds(30), consecutiveFailures: 4) == .seconds(300))
        #expect(breaker.state(consecutiveFailures: 4) == .open)
        #expect(Backoff(maxBackoff: .seconds(1)).delay(interval: .seconds(10), consecutiveFailures: 5) == .seconds(10))
    }
}
