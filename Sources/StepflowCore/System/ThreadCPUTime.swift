#if canImport(Glibc)
import Glibc
#endif

/// The CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`): what a plugin call or a slice of a job
/// costs, read before and after it on the thread that runs it (docs/profiler.md, "Plugins and jobs").
public enum ThreadCPUTime {
    /// Nanoseconds of CPU the calling thread has used since it started; 0 if the clock cannot be read.
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0, time.tv_sec >= 0, time.tv_nsec >= 0 else { return 0 }
        let (seconds, overflow) = UInt64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : seconds &+ UInt64(time.tv_nsec)
    }

    /// The CPU the calling thread used while running `body`, in nanoseconds, with its result.
    @inline(__always)
    public static func measure<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> (value: T, nanoseconds: UInt64) {
        let start = nanoseconds()
        let value = try body()
        let end = nanoseconds()
        return (value, end >= start ? end - start : 0)
    }
}
