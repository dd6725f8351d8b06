extension Duration {
    /// The duration in seconds as a `Double`, as Prometheus and JSON report durations.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
