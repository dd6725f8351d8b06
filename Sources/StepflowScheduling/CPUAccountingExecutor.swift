import Dispatch
import StepflowCore
import Synchronization

/// A task executor that adds up the CPU time of the tasks that prefer it: each job slice runs on Dispatch's global
/// queue, between two reads of the thread's CPU clock (docs/profiler.md, "Plugins and jobs").
///
/// The scheduler gives each job one, so `stepflow_job_cpu_seconds_total{job}` is the CPU of that job's own code,
/// its child tasks included. Work the job hands to another executor (an actor, the database's writer, a plugin's
/// queue) is not counted here: a plugin call's CPU is counted by the plugin host, the rest shows in the per-thread
/// CPU of `GET /api/v1/profile`. Running the slices off the cooperative pool also means a job that reads `/proc`
/// or a file synchronously does not hold one of its threads.
public final class CPUAccountingExecutor: TaskExecutor {
    private let nanoseconds = Atomic<UInt64>(0)

    /// An executor is never freed: it lives as long as the process. A task a job starts without a preference of
    /// its own (an unstructured `Task {}`, such as a notification attempt left behind at its timeout) inherits this
    /// one, and the runtime retains only a preference passed to `Task(executorPreference:)`, not an inherited one;
    /// such a task may outlive the job, its scheduler and its host. One executor is made per scheduled job: what
    /// stays behind is a few dozen bytes per job.
    public init() {
        _ = Unmanaged.passRetained(self)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        DispatchQueue.global().async {
            let start = ThreadCPUTime.nanoseconds()
            job.runSynchronously(on: self.asUnownedTaskExecutor())
            let end = ThreadCPUTime.nanoseconds()
            self.nanoseconds.add(end >= start ? end - start : 0, ordering: .relaxed)
        }
    }

    /// CPU seconds used by the slices run so far.
    public var cpuSeconds: Double { Double(nanoseconds.load(ordering: .relaxed)) / 1e9 }
}
