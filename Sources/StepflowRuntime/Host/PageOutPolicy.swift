/// When the memory-release job pages the host's read-only file mappings out again (README, "Memory and CPU at
/// idle").
///
/// The first time is at the first run a minute after start: start-up code (configuration, migrations, plugin
/// loading) is never needed again. The run after a page-out records the file-backed resident set (`RssFile`) as the
/// baseline: the code the host runs in its current work, read back in. A burst of work (an HTTP load, a large query)
/// later faults in code that may not run again for hours; once the set has grown by `growthKilobytes` over the
/// baseline, the pages are given back again and a new baseline is taken.
///
/// Code that comes and goes with a load that switches on and off every few minutes would be read back again and
/// again, so a page-out less than `quietRuns` runs after the previous one doubles the number of runs to wait after
/// the next baseline (up to `maximumGap`), and one after a quiet stretch halves it (down to one run). A burst every
/// few minutes is then given back about twice an hour; a lone burst within a minute or two.
package struct PageOutPolicy: Sendable {
    /// How much the file-backed resident set must grow over the baseline, in kB, before pages are given back again.
    package static let growthKilobytes = 4096
    /// The longest wait between a baseline and the next page-out, in runs of the job (an hour at one run a minute).
    package static let maximumGap = 64
    /// Page-outs closer together than this many runs make the policy wait longer.
    package static let quietRuns = 30

    private enum Phase {
        case start
        case settling
        case watching(baseline: Int, runs: Int)
    }

    private var phase = Phase.start
    private var gap = 1
    private var runsSincePageOut = 0

    package init() {}

    /// The number of runs the policy waits, at least, after a baseline before the next page-out.
    package var currentGap: Int { gap }

    /// Whether to page out now, given the file-backed resident set (`RssFile`, kB) at this run.
    package mutating func shouldPageOut(fileKilobytes: Int) -> Bool {
        runsSincePageOut += 1
        switch phase {
        case .start:
            return true
        case .settling:
            phase = .watching(baseline: fileKilobytes, runs: 0)
            return false
        case .watching(let baseline, let runs):
            let runs = runs + 1
            phase = .watching(baseline: baseline, runs: runs)
            guard runs >= gap, fileKilobytes - baseline >= Self.growthKilobytes else { return false }
            gap = runsSincePageOut < Self.quietRuns ? min(gap * 2, Self.maximumGap) : max(gap / 2, 1)
            return true
        }
    }

    /// Records that the pages were given back: the next run takes the new baseline.
    package mutating func pagedOut() {
        phase = .settling
        runsSincePageOut = 0
    }
}
