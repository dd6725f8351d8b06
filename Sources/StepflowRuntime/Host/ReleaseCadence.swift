/// When the memory-release job does its work (README, "Memory and CPU at idle").
///
/// The job looks every `checkInterval` (10 s) but releases only:
/// - when `fullInterval` (a minute) has passed since the last release, as a steady trickle; or
/// - as soon as a burst of work is over: a check that finds the last interval quiet (the process used less than
///   `quietCPUFraction` of one core) after one or more busy ones, with the resident set `growthKilobytes` above
///   where it was at the last quiet check before them. A burst is then given back within a check or two of its end,
///   whatever the phase of the one-minute clock; a sustained load (never quiet) is not interrupted by releases
///   every 10 s; and pages read back while the host is quiet (after a page-out) never count as a burst.
package struct ReleaseCadence: Sendable {
    /// How often the job looks.
    package static let checkInterval: Duration = .seconds(10)
    /// The longest time between two releases.
    package static let fullInterval: Duration = .seconds(60)
    /// Growth of the resident set over a burst that makes the first quiet check after it release, in kB.
    package static let growthKilobytes = 4096
    /// The most CPU the process may have used over a check interval, as a fraction of one core, for the interval
    /// to count as quiet (an idle host uses about 0.003).
    package static let quietCPUFraction = 0.02

    private var lastRelease: Duration?
    /// The resident set at the last quiet check (or right after the last release), in kB.
    private var quietResident: Int?
    /// Whether a busy interval came since the last quiet check.
    private var busy = false
    private var previous: (time: Duration, cpuSeconds: Double)?

    package init() {}

    /// Whether to release now. `time` is any monotonic time (since the job started, in the job), `resident` the
    /// resident set in kB, `cpuSeconds` the process's total CPU time so far.
    package mutating func shouldRelease(at time: Duration, residentKilobytes resident: Int, cpuSeconds: Double) -> Bool {
        let quiet = previous.map { previous -> Bool in
            let elapsed = time - previous.time
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return seconds > 0 && (cpuSeconds - previous.cpuSeconds) / seconds < Self.quietCPUFraction
        } ?? false
        previous = (time, cpuSeconds)
        guard let lastRelease else { return true }
        if time - lastRelease >= Self.fullInterval { return true }
        guard quiet else {
            busy = true
            return false
        }
        defer {
            busy = false
            quietResident = resident
        }
        return busy && resident - (quietResident ?? resident) >= Self.growthKilobytes
    }

    /// Records a release that ended at `time` with the resident set at `resident` kB.
    package mutating func released(at time: Duration, residentKilobytes resident: Int) {
        lastRelease = time
        quietResident = resident
        busy = false
    }
}
