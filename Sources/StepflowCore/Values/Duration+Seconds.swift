extension Duration {
    /// The duration in seconds as a `Double`, as Prometheus and JSON report durations.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension Duration {
    /// `seconds` to the millisecond, clamped to at most ``ValidTime``'s whole span either way, NaN as zero: for
    /// durations computed from stored times, which must not trap whatever a row holds.
    public static func milliseconds(clampingSeconds seconds: Double) -> Duration {
        let milliseconds = (seconds * 1000).rounded()
        let limit = Double(ValidTime.latestMilliseconds)
        guard !milliseconds.isNaN else { return .zero }
        return .milliseconds(Int64(min(max(milliseconds, -limit), limit)))
    }
}

extension Duration {
    /// Whole milliseconds, rounded toward zero and clamped to `Int64`: never traps, whatever the duration.
    public var clampedMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (sum, overflowed) = milliseconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflowed ? (seconds < 0 ? .min : .max) : sum
    }
}
