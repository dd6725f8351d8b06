#if canImport(Glibc)
import Glibc
#endif
import CStepflowSystem
import Foundation
import Logging
import StepflowCore
import StepflowScheduling
import StepflowStorage
import Synchronization

/// Gives the kernel back memory the host no longer uses, every minute and as soon as a burst of work is over
/// (`ReleaseCadence`; README, "Memory and CPU at idle"):
///
/// - the pages of its read-only file mappings (its own code and that of the libraries it loaded) that it no longer
///   runs are dropped from the host's resident set with `madvise(MADV_PAGEOUT)`: once a minute after start (what
///   parsing the configuration, migrations and loading plugins touched), then whenever `PageOutPolicy` sees the
///   file-backed set grow after a burst of work. They are clean copies of files, so nothing is lost: a page needed
///   again is read back on its first use. Anonymous memory and writable mappings are never touched.
/// - every run: SQLite's caches are given back (reader connections close and reopen on the next read), then
///   `malloc_trim(0)` returns the free memory of glibc's arenas, so that a burst of requests does not leave the
///   host holding its peak.
package final class MemoryReleaseJob: ScheduledJob {
    package let name = "memory-release"
    package let kind = "builtin"
    private let started = ContinuousClock.now
    private let pageOut = Mutex(PageOutPolicy())
    private let cadence = Mutex(ReleaseCadence())
    private let logger: Logger
    private let database: MonitoringDatabase

    /// How long after start the start-up pages are released: every built-in job and plugin has run by then.
    static let startupWindow: Duration = .seconds(55)

    init(database: MonitoringDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    package func run() async throws {
        let elapsed = ContinuousClock.now - started
        #if os(Linux)
        let resident = Self.residentKilobytes() ?? 0
        let due = cadence.withLock {
            $0.shouldRelease(at: elapsed, residentKilobytes: resident, cpuSeconds: Self.processCPUSeconds())
        }
        guard due else { return }
        #endif
        let pastStartup = elapsed >= Self.startupWindow
        // Closing SQLite's connections waits for the writer's transaction, and madvise and malloc_trim do their
        // reclaiming synchronously (milliseconds on a large heap): on a thread of their own, not on the cooperative
        // pool. The trim comes after SQLite has freed its caches, or what they held would stay in the arenas.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [self] in
                release(pastStartup: pastStartup)
                #if os(Linux)
                let after = Self.residentKilobytes() ?? 0
                cadence.withLock { $0.released(at: ContinuousClock.now - started, residentKilobytes: after) }
                #endif
                continuation.resume()
            }
        }
    }

    private func release(pastStartup: Bool) {
        database.releaseMemory()
        #if os(Linux)
        if pastStartup, let before = Self.statusKilobytes("RssFile"),
            pageOut.withLock({ $0.shouldPageOut(fileKilobytes: before) })
        {
            let rssBefore = Self.residentKilobytes() ?? 0
            let mappings = Self.releaseReadOnlyFilePages()
            let after = Self.statusKilobytes("RssFile") ?? before
            let gap = pageOut.withLock { policy in
                policy.pagedOut()
                return policy.currentGap
            }
            logger.info(
                "read-only file pages released",
                metadata: [
                    "mappings": "\(mappings)", "rss_kb_before": "\(rssBefore)",
                    "rss_kb_after": "\(Self.residentKilobytes() ?? 0)", "file_kb_before": "\(before)",
                    "file_kb_after": "\(after)", "gap_runs": "\(gap)",
                ])
        }
        #endif
        _ = stepflow_release_free_heap()
    }

    #if os(Linux)
    /// `madvise(MADV_PAGEOUT)` on every read-only, file-backed mapping of this process; returns how many took it
    /// (none on a kernel older than 5.4, which refuses the advice).
    package static func releaseReadOnlyFilePages() -> Int {
        guard let maps = try? ProcFile.read("/proc/self/maps") else { return 0 }
        var released = 0
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[5].hasPrefix("/"), fields[1].count == 4,
                !fields[1].contains("w")
            else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                end > start, let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            if madvise(address, Int(end - start), 21 /* MADV_PAGEOUT */) == 0 { released += 1 }
        }
        return released
    }

    /// The CPU time this process has used (user and system), in seconds.
    package static func processCPUSeconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// `VmRSS` of `/proc/self/status`, in kB.
    package static func residentKilobytes() -> Int? { statusKilobytes("VmRSS") }

    /// A kB field of `/proc/self/status` (`VmRSS`, `RssFile`, `RssAnon`).
    package static func statusKilobytes(_ field: String) -> Int? {
        ProcessStatus.kilobytes()[field]
    }
    #endif
}
