import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs every registered job on its own interval, each in its own child task, so that a slow, failing or
/// stuck job never delays the others.
///
/// - Each wait is lengthened by a random jitter of up to `jitter × interval` (also before the first call),
///   so that jobs with equal intervals spread out.
/// - A call that throws is logged and counted, and retried on the next tick with capped exponential
///   ``Backoff``.
/// - A call that outlives its deadline is cancelled and reported; when it cannot actually stop (an
///   in-process plugin blocked in C), the job reports ``ScheduledJob/isBusy`` and is skipped until it returns.
///
/// - After `breaker_failures` consecutive failures a job's ``CircuitBreaker`` opens: no calls for the
///   cool-down, then one trial call.
/// - Jobs can be added and removed while the scheduler runs (configuration reload).
///
/// Generic over `Clock` so tests drive it with a test clock instead of sleeping.
public final class Scheduler<C: Clock>: Service, Sendable where C.Duration == Duration {
    private struct Entry: Sendable {
        var job: any ScheduledJob
        var schedule: JobSchedule
        /// Fired to stop this job's loop (removal); the loop then shuts the job down.
        var stop = StopSignal()
        /// Fired once the job's loop has ended and the job is shut down.
        var finished = StopSignal()
        /// Runs the job's calls and counts their CPU time.
        var executor = CPUAccountingExecutor()
    }

    private enum Outcome: Sendable {
        case success(Duration)
        case failure(String, Duration)
        case timedOut
        case cancelled
    }

    private struct Registry {
        var entries: [String: Entry] = [:]
        /// Set while ``run()`` runs: where jobs added later are started.
        var starter: AsyncStream<Entry>.Continuation?
        var stopped = false
    }

    private let clock: C
    private let breaker: CircuitBreaker
    private let jitter: Double
    private let logger: Logger
    private let registry = Mutex(Registry())
    private let table = Mutex<[String: JobStatus]>([:])
    private let watchdog: DeadlineWatchdog<C>

    /// - Parameters:
    ///   - clock: the clock that times intervals and deadlines.
    ///   - maxBackoff: the longest wait after repeated failures (`scheduler.max_backoff`).
    ///   - jitter: the fraction of the interval added at random to each wait (`scheduler.jitter`), 0…1.
    ///   - breakerFailures: consecutive failures that open a job's breaker (`scheduler.breaker_failures`).
    ///   - breakerCooldown: how long an open breaker waits (`scheduler.breaker_cooldown`).
    public init(
        clock: C, maxBackoff: Duration, jitter: Double, breakerFailures: Int = 5,
        breakerCooldown: Duration = .seconds(60), logger: Logger
    ) {
        self.clock = clock
        self.breaker = CircuitBreaker(
            failureThreshold: breakerFailures, cooldown: breakerCooldown, backoff: Backoff(maxBackoff: maxBackoff))
        self.jitter = min(max(jitter, 0), 1)
        self.logger = logger
        self.watchdog = DeadlineWatchdog(clock: clock)
    }

    /// Registers a job. Before ``run()`` it starts with the others; while running it starts at once.
    /// A job whose name is already registered is refused.
    public func add(_ job: any ScheduledJob, schedule: JobSchedule) throws(SchedulerError) {
        guard schedule.interval > .zero, schedule.timeout > .zero else {
            throw SchedulerError(message: "job \(job.name): interval and timeout must be positive")
        }
        let entry = Entry(job: job, schedule: schedule)
        let outcome = registry.withLock { registry -> String? in
            if registry.stopped { return "the scheduler has stopped" }
            if registry.entries[job.name] != nil { return "a job named \(job.name) is already scheduled" }
            registry.entries[job.name] = entry
            table.withLock { $0[job.name] = JobStatus(name: job.name, kind: job.kind, schedule: schedule) }
            registry.starter?.yield(entry)
            return nil
        }
        if let outcome { throw SchedulerError(message: outcome) }
    }

    /// Stops one job: its loop ends (a call in flight is cancelled), the job is shut down, and its status is
    /// forgotten. Returns once the job is shut down; returns `false` when no such job is scheduled.
    @discardableResult
    public func remove(_ name: String) async -> Bool {
        let removed = registry.withLock { registry -> (entry: Entry, running: Bool)? in
            guard let entry = registry.entries.removeValue(forKey: name) else { return nil }
            return (entry, registry.starter != nil)
        }
        guard let (entry, running) = removed else { return false }
        entry.stop.fire()
        if running {
            await entry.finished.wait()
        } else {
            await entry.job.shutdown()
        }
        table.withLock { _ = $0.removeValue(forKey: name) }
        logger.info("job removed", metadata: ["job": "\(name)"])
        return true
    }

    /// The names of the scheduled jobs, sorted.
    public var jobNames: [String] {
        registry.withLock { Array($0.entries.keys) }.sorted()
    }

    /// The status of every job, sorted by name.
    public func statuses() -> [JobStatus] {
        table.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }

    /// The status of one job.
    public func status(of name: String) -> JobStatus? {
        table.withLock { $0[name] }
    }

    /// Runs all jobs (and those added while it runs) until graceful shutdown or cancellation, then shuts each
    /// job down and returns.
    public func run() async throws {
        let (additions, starter) = AsyncStream<Entry>.makeStream()
        let initial = registry.withLock { registry -> [Entry] in
            registry.starter = starter
            return registry.entries.values.sorted { $0.job.name < $1.job.name }
        }
        logger.info("scheduler started", metadata: ["jobs": "\(initial.map(\.job.name).joined(separator: ", "))"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.watchdog.run() }
                for entry in initial {
                    group.addTask { await self.supervise(entry) }
                }
                for await entry in additions {
                    group.addTask { await self.supervise(entry) }
                }
            }
        }
        let remaining = registry.withLock { registry -> [Entry] in
            registry.starter = nil
            registry.stopped = true
            starter.finish()
            return Array(registry.entries.values)
        }
        // Loops cancelled by shutdown have already shut their jobs down; this catches jobs that never started,
        // including ones added (or removed) during shutdown.
        var neverStarted = remaining
        for await entry in additions { neverStarted.append(entry) }
        for entry in neverStarted where !entry.finished.isFired {
            await entry.job.shutdown()
            entry.finished.fire()
            update(entry.job.name) { $0.state = .stopped }
        }
        logger.info("scheduler stopped")
    }

    /// Runs one job's loop until it is removed or the scheduler stops, then shuts the job down.
    private func supervise(_ entry: Entry) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.loop(entry) }
            group.addTask { await entry.stop.wait() }
            await group.next()
            group.cancelAll()
        }
        await entry.job.shutdown()
        update(entry.job.name) { $0.state = .stopped }
        entry.finished.fire()
    }

    private func update(_ name: String, _ body: (inout JobStatus) -> Void) {
        table.withLock { table in
            if var status = table[name] {
                body(&status)
                table[name] = status
            }
        }
    }

    private func randomJitter(_ interval: Duration) -> Duration {
        jitter > 0 ? interval * Double.random(in: 0..<jitter) : .zero
    }

    private func loop(_ entry: Entry) async {
        let job = entry.job
        let schedule = entry.schedule
        var consecutiveFailures = 0
        var reportedStuck = false
        var due = clock.now
        do {
            let first = randomJitter(schedule.interval)
            due = due.advanced(by: first)
            if first > .zero { try await clock.sleep(until: due, tolerance: nil) }
        } catch {
            return
        }
        while !Task.isCancelled {
            let start = clock.now
            let late = max(.zero, due.duration(to: start))
            update(job.name) {
                $0.lateness.observe(late)
                $0.maxLateness = max($0.maxLateness, late)
            }
            if job.isBusy {
                update(job.name) {
                    $0.skipped += 1
                    $0.state = .stuck
                }
                if !reportedStuck {
                    logger.error(
                        "job is still inside a call that missed its deadline; it will not be called until that call returns",
                        metadata: ["job": "\(job.name)"])
                    reportedStuck = true
                }
            } else {
                reportedStuck = false
                update(job.name) {
                    $0.runs += 1
                    $0.state = .running
                    if $0.breaker == .open { $0.breaker = .halfOpen }
                }
                let outcome = await runOnce(job, timeout: schedule.timeout, on: entry.executor)
                let cpuSeconds = entry.executor.cpuSeconds
                update(job.name) { $0.cpuSeconds = cpuSeconds }
                switch outcome {
                case .success(let elapsed):
                    if consecutiveFailures > 0 {
                        logger.info("job recovered", metadata: ["job": "\(job.name)", "after_failures": "\(consecutiveFailures)"])
                    }
                    consecutiveFailures = 0
                    update(job.name) {
                        $0.state = .ok
                        $0.consecutiveFailures = 0
                        $0.lastSuccess = Date()
                        $0.lastDuration = elapsed
                        $0.totalDuration += elapsed
                        $0.durations.observe(elapsed)
                    }
                case .failure(let message, let elapsed):
                    consecutiveFailures += 1
                    update(job.name) {
                        $0.failures += 1
                        $0.state = .failing
                        $0.consecutiveFailures = consecutiveFailures
                        $0.lastError = message
                        $0.lastDuration = elapsed
                        $0.totalDuration += elapsed
                        $0.durations.observe(elapsed)
                    }
                    logger.warning(
                        "job failed",
                        metadata: [
                            "job": "\(job.name)", "error": "\(message)",
                            "consecutive_failures": "\(consecutiveFailures)",
                        ])
                case .timedOut:
                    consecutiveFailures += 1
                    let message = "call exceeded its \(schedule.timeout) deadline"
                    update(job.name) {
                        $0.timeouts += 1
                        $0.consecutiveFailures = consecutiveFailures
                        $0.lastError = message
                        $0.state = job.isBusy ? .stuck : .failing
                    }
                    logger.error(
                        "job timed out",
                        metadata: [
                            "job": "\(job.name)", "timeout": "\(schedule.timeout)",
                            "still_running": "\(job.isBusy)",
                        ])
                case .cancelled:
                    return
                }
            }
            let breakerState = breaker.state(consecutiveFailures: consecutiveFailures)
            var delay = breaker.delay(interval: schedule.interval, consecutiveFailures: consecutiveFailures)
            if consecutiveFailures == 0, let wanted = await job.nextRunDelay() { delay = max(delay, wanted) }
            delay += randomJitter(schedule.interval)
            let previous = status(of: job.name)?.breaker ?? .closed
            if breakerState == .open && previous != .open {
                logger.error(
                    "circuit breaker opened: no calls until the cool-down ends, then one trial call",
                    metadata: [
                        "job": "\(job.name)", "consecutive_failures": "\(consecutiveFailures)", "cooldown": "\(delay)",
                    ])
            } else if breakerState == .closed && previous != .closed {
                logger.notice("circuit breaker closed", metadata: ["job": "\(job.name)"])
            }
            update(job.name) {
                $0.nextDelay = delay
                if breakerState == .open && $0.breaker != .open { $0.breakerOpenings += 1 }
                $0.breaker = breakerState
            }
            due = start.advanced(by: delay)
            do {
                if let wake = job.wakeSignal, consecutiveFailures == 0 {
                    try await wake.sleep(until: due, clock: clock)
                    // Woken early: the new work is due now, but never sooner than one interval after the last
                    // start, so that a job that keeps waking itself still runs at most once per interval.
                    let earliest = start.advanced(by: schedule.interval)
                    if clock.now < earliest { try await clock.sleep(until: earliest, tolerance: nil) }
                    due = min(due, clock.now)
                } else {
                    try await clock.sleep(until: due, tolerance: nil)
                }
            } catch {
                return
            }
        }
    }

    /// Runs one call under the watchdog: past its deadline the call is cancelled and reported as timed out
    /// (once it has returned: a job must return promptly when cancelled, see ``ScheduledJob/run()``).
    private func runOnce(_ job: any ScheduledJob, timeout: Duration, on executor: CPUAccountingExecutor) async -> Outcome {
        let clock = self.clock
        let start = clock.now
        let call = Task(executorPreference: executor) { try await job.run() }
        let expired = Atomic<Bool>(false)
        let watch = watchdog.watch(until: start.advanced(by: timeout)) {
            expired.store(true, ordering: .sequentiallyConsistent)
            call.cancel()
        }
        let result = await withTaskCancellationHandler {
            await call.result
        } onCancel: {
            call.cancel()
        }
        watchdog.unwatch(watch)
        if Task.isCancelled { return .cancelled }
        if expired.load(ordering: .sequentiallyConsistent) { return .timedOut }
        let elapsed = start.duration(to: clock.now)
        switch result {
        case .success: return .success(elapsed)
        case .failure(let error): return .failure("\(error)", elapsed)
        }
    }
}

/// A job that cannot be scheduled.
public struct SchedulerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
