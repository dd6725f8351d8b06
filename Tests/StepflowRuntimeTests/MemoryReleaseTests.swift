import CStepflowSystem
import Foundation
import StepflowCore
import StepflowRuntime
import Testing

@Suite("Memory released after start-up")
struct MemoryReleaseTests {
    @Test("paging out read-only file mappings lowers the resident set, and the code runs on (faulted back in)")
    func releasesReadOnlyFilePages() throws {
        #if os(Linux)
        // Every read-only file mapping, not only those within the first page of /proc/self/maps. Other tests in
        // this process load libraries meanwhile, so the count is taken before and after the release, and the
        // release must lie between the two.
        func eligibleMappings() throws -> Int {
            let maps = try ProcFile.read("/proc/self/maps")
            return maps.split(separator: "\n").filter { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                return fields.count >= 6 && fields[5].hasPrefix("/") && !fields[1].contains("w")
            }.count
        }
        let eligibleBefore = try eligibleMappings()
        let before = try #require(MemoryReleaseJob.residentKilobytes())
        let released = MemoryReleaseJob.releaseReadOnlyFilePages()
        let after = try #require(MemoryReleaseJob.residentKilobytes())
        let eligibleAfter = try eligibleMappings()
        #expect(min(eligibleBefore, eligibleAfter) > 20)
        #expect(
            (min(eligibleBefore, eligibleAfter)...max(eligibleBefore, eligibleAfter)).contains(released),
            "\(released) mappings took MADV_PAGEOUT; \(eligibleBefore) were eligible before, \(eligibleAfter) after")
        #expect(after < before, "RSS \(before) kB before, \(after) kB after")
        // The pages given back are read again on use: the test process keeps working.
        #expect(try JSONSerialization.jsonObject(with: Data(#"{"a": [1, 2]}"#.utf8)) is [String: Any])
        #endif
    }

    @Test("the heap trim really returns freed arena memory to the kernel (glibc)")
    func trimsTheHeap() {
        #if os(Linux)
        // 32 blocks of 64 KiB (under glibc's 128 KiB mmap threshold, so they live in an arena), each followed by a
        // small block that stays allocated so that freeing the large ones leaves holes the top-of-heap trim alone
        // cannot give back; only malloc_trim's walk over the free chunks can.
        var large: [UnsafeMutableRawPointer] = []
        var small: [UnsafeMutableRawPointer] = []
        for _ in 0..<32 {
            guard let block = malloc(64 * 1024), let pin = malloc(64) else { break }
            memset(block, 1, 64 * 1024)
            large.append(block)
            small.append(pin)
        }
        large.forEach { free($0) }
        defer { small.forEach { free($0) } }
        #expect(stepflow_release_free_heap() == 1, "malloc_trim released nothing: is the glibc test compiled in?")
        #endif
    }

    /// Runs the policy over a simulated process: `needed[run]` is the code (kB) the host's work touches during that
    /// run; what is resident only grows until a page-out drops it to 8 MB. The runs at which it pages out.
    private func pageOuts(_ needed: [Int]) -> [Int] {
        var policy = PageOutPolicy()
        var resident = 30_000
        var runs: [Int] = []
        for (run, kilobytes) in needed.enumerated() {
            resident = max(resident, kilobytes)
            if policy.shouldPageOut(fileKilobytes: resident) {
                policy.pagedOut()
                resident = 8_000
                runs.append(run)
            }
        }
        return runs
    }

    @Test("pages out at the first run, then only after a burst grows the code resident over the settled baseline")
    func pagesOutAfterABurst() {
        let idle = 16_000
        var needed = Array(repeating: idle, count: 40)
        // Run 0: start-up. Run 1 settles (the baseline is what idle work reads back: no page-out for it). A burst
        // during run 4 is given back at that run; the next run settles again; quiet afterwards.
        needed[4] = idle + PageOutPolicy.growthKilobytes
        #expect(pageOuts(needed) == [0, 4])
        // A growth just under the threshold is left alone.
        needed[4] = idle + PageOutPolicy.growthKilobytes - 1
        #expect(pageOuts(needed) == [0])
        // A working set that stays (a steady load) becomes the baseline: nothing to give back.
        #expect(pageOuts(Array(repeating: 40_000, count: 100)) == [0])
    }

    @Test("a load that comes back every few minutes is paged out less and less often")
    func backsOffFromARecurringLoad() {
        for period in [2, 3, 5, 7, 10] {
            let needed = (0..<1000).map { run in run % period == 0 ? 16_000 + PageOutPolicy.growthKilobytes : 16_000 }
            let runs = pageOuts(needed)
            // Without the back-off this would be every `period` runs (up to 500 page-outs in 1000 runs).
            #expect(runs.count <= 1000 / 20, "every \(period) runs: \(runs.count) page-outs, at \(runs.prefix(12))")
        }
        var policy = PageOutPolicy()
        _ = policy.shouldPageOut(fileKilobytes: 30_000)
        #expect(policy.currentGap == 1)
    }

    @Test("releases once a minute, and within a check or two of a burst's end; never every check under a steady load")
    func releaseCadence() {
        var cadence = ReleaseCadence()
        let idle = 25_000
        var cpu = 0.0
        var releases: [Int] = []
        /// Ten-second checks: `load[check]` is the CPU seconds used and the resident growth during that check.
        func simulate(_ load: [(cpu: Double, grow: Int)]) {
            var resident = idle
            for (check, step) in load.enumerated() {
                cpu += step.cpu
                resident += step.grow
                let time = Duration.seconds(10 * check)
                if cadence.shouldRelease(at: time, residentKilobytes: resident, cpuSeconds: cpu) {
                    releases.append(check)
                    resident = idle
                    cadence.released(at: time, residentKilobytes: resident)
                }
            }
        }
        // Idle: the first check, then every sixth (a minute).
        var load = Array(repeating: (cpu: 0.03, grow: 0), count: 13)
        // A burst during checks 7 and 8 (busy, +6 MB each); quiet from check 9: released at check 9, not at 12.
        load[7] = (10, 6000)
        load[8] = (10, 6000)
        simulate(load)
        #expect(releases == [0, 6, 9], "\(releases)")

        // A steady load: busy every check, the set growing a little: only the minute's releases.
        cadence = ReleaseCadence()
        releases = []
        simulate(Array(repeating: (cpu: 15, grow: 5000), count: 13))
        #expect(releases == [0, 6, 12], "\(releases)")

        // Pages read back while quiet (after a page-out) are not a burst, however much they add up to.
        cadence = ReleaseCadence()
        releases = []
        simulate(Array(repeating: (cpu: 0.03, grow: 5000), count: 13))
        #expect(releases == [0, 6, 12], "\(releases)")
    }
}
