/// When the memory-release job does its work (README, "Memory and CPU at idle").
///
/// The job looks every `checkInterval` (10 s) but releases only:
/// - when `fullInterval` (a minute) has passed since the last release, as a steady trickle; or
/// - as soon as a burst of work is over: the resident set has grown by `growthKilobytes` since the last release,
///   and the last check interval was quiet (the process used less than `quietCPUFraction` of one core). A burst
///   is then given back within one or two checks of its end, whatever the phase of the one-minute clock, and a
///   sustained load (never quiet) is not interrupted by releases every 10 s.
package struct ReleaseCadence: Sendable {
    /// How often the job looks.
    package static let checkInterval: Duration = .seconds(10)
    /// The longest time between two releases.
    package static let fullInterval: Duration = .seconds(60)
    /// Growth of the resident set since the last release that makes a quiet check release early, in kB.
    package static let growthKilobytes = 4096
    /// The most CPU the process may have used over the last check interval, as a fraction of one core, for the
    /// interval to count as quiet (an idle host uses about 0.003).
    package static let quietCPUFraction = 0.02

    private var lastRelease: Duration?
    private var residentAfterRelease = 0
    private var previous: (time: Duration, cpuSeconds: Double)?

    package init() {}

    /// Whether to release now. `time` is any monotonic time (seconds since the job started, in the job), `resident`
    /// the resident set in kB, `cpuSeconds` the process's total CPU time so far.
    package mutating func shouldRelease(at time: Duration, residentKilobytes resident: Int, cpuSeconds: Double) -> Bool {
        defer { previous = (time, cpuSeconds) }
        guard let lastRelease else { return true }
        if time - lastRelease >= Self.fullInterval { return true }
        guard resident - residentAfterRelease >= Self.growthKilobytes, let previous, time > previous.time else { return false }
        let elapsed = Double((time - previous.time).components.seconds)
            + Double((time - previous.time).components.attoseconds) / 1e18
        return (cpuSeconds - previous.cpuSeconds) / elapsed < Self.quietCPUFraction
    }

    /// Records a release that ended at `time` with the resident set at `resident` kB.
    package mutating func released(at time: Duration, residentKilobytes resident: Int) {
        lastRelease = time
        residentAfterRelease = resident
    }
}
