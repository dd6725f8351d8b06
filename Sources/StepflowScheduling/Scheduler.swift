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
/// Generic over `Clock` so tests drive it with a test clock instead of sleeping.
public final class Scheduler<C: Clock>: Service, Sendable where C.Duration == Duration {
    private struct Entry: Sendable {
        var job: any ScheduledJob
        var schedule: JobSchedule
    }

    private enum Outcome: Sendable {
        case success(Duration)
        case failure(String, Duration)
        case timedOut
        case cancelled
    }

    private let clock: C
    private let backoff: Backoff
    private let jitter: Double
    private let logger: Logger
    private let entries = Mutex<[Entry]>([])
    private let table = Mutex<[String: JobStatus]>([:])

    /// - Parameters:
    ///   - clock: the clock that times intervals and deadlines.
    ///   - maxBackoff: the longest wait after repeated failures (`scheduler.max_backoff`).
    ///   - jitter: the fraction of the interval added at random to each wait (`scheduler.jitter`), 0…1.
    public init(clock: C, maxBackoff: Duration, jitter: Double, logger: Logger) {
        self.clock = clock
        self.backoff = Backoff(maxBackoff: maxBackoff)
        self.jitter = min(max(jitter, 0), 1)
        self.logger = logger
    }

    /// Registers a job; call before ``run()``. A job whose name is already registered is refused.
    public func add(_ job: any ScheduledJob, schedule: JobSchedule) throws(SchedulerError) {
        guard schedule.interval > .zero, schedule.timeout > .zero else {
            throw SchedulerError(message: "job \(job.name): interval and timeout must be positive")
        }
        let added = entries.withLock { entries -> Bool in
            if entries.contains(where: { $0.job.name == job.name }) { return false }
            entries.append(Entry(job: job, schedule: schedule))
            return true
        }
        guard added else { throw SchedulerError(message: "a job named \(job.name) is already scheduled") }
        table.withLock { $0[job.name] = JobStatus(name: job.name, kind: job.kind, schedule: schedule) }
    }

    /// The status of every job, sorted by name.
    public func statuses() -> [JobStatus] {
        table.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }

    /// The status of one job.
    public func status(of name: String) -> JobStatus? {
        table.withLock { $0[name] }
    }

    /// Runs all jobs until graceful shutdown or cancellation, then shuts each job down and returns.
    public func run() async throws {
        let jobs = entries.withLock { $0 }
        logger.info("scheduler started", metadata: ["jobs": "\(jobs.map(\.job.name).joined(separator: ", "))"])
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for entry in jobs {
                    group.addTask { await self.loop(entry) }
                }
            }
        }
        for entry in jobs {
            await entry.job.shutdown()
            update(entry.job.name) { $0.state = .stopped }
        }
        logger.info("scheduler stopped")
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
        do {
            let first = randomJitter(schedule.interval)
            if first > .zero { try await clock.sleep(for: first) }
        } catch {
            return
        }
        while !Task.isCancelled {
            let start = clock.now
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
                }
                switch await runOnce(job, timeout: schedule.timeout) {
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
            let delay = backoff.delay(interval: schedule.interval, consecutiveFailures: consecutiveFailures)
                + randomJitter(schedule.interval)
            update(job.name) { $0.nextDelay = delay }
            do {
                try await clock.sleep(until: start.advanced(by: delay), tolerance: nil)
            } catch {
                return
            }
        }
    }

    /// Runs one call racing its deadline; the loser is cancelled.
    private func runOnce(_ job: any ScheduledJob, timeout: Duration) async -> Outcome {
        let clock = self.clock
        return await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                let start = clock.now
                do {
                    try await job.run()
                    return .success(start.duration(to: clock.now))
                } catch {
                    if Task.isCancelled { return .cancelled }
                    return .failure("\(error)", start.duration(to: clock.now))
                }
            }
            group.addTask {
                do {
                    try await clock.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return .cancelled
                }
            }
            var result = Outcome.cancelled
            for await outcome in group {
                if case .cancelled = outcome { continue }
                result = outcome
                break
            }
            group.cancelAll()
            return result
        }
    }
}

/// A job that cannot be scheduled.
public struct SchedulerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
