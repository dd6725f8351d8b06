extension Double {
    /// The number as Prometheus writes it: `NaN`, `+Inf`, `-Inf`, a whole number under 10^15 without a fraction
    /// (`3`, not `3.0`), anything else in Swift's shortest round-tripping form (`0.25`, `1e+20`).
    public var prometheusText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "+Inf" : "-Inf" }
        if Swift.abs(self) < 1e15, let whole = Int64(exactly: self) { return String(whole) }
        return "\(self)"
    }
}
