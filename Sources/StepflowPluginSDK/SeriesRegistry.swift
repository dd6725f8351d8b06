import CStepflowPlugin

/// Registers the counter and gauge series a Swift collector returns with the host (host API 1.1,
/// `register_series`), so that later collections hand over only their values (`emit_values`) and the host reads
/// and checks their strings once instead of on every collection.
///
/// A series is registered the second time it is seen, so one that appears once (a short-lived process, a
/// connection) never takes a place in the host's table; at most ``maxSeries`` are registered, after which new
/// series go through `emit_metrics` as before. A series the host refuses to register (an invalid name, say) is
/// remembered and sent through `emit_metrics`, where the host refuses and counts it as it always did. On a host
/// without `register_series` everything goes through `emit_metrics`.
struct SeriesRegistry {
    /// The most series one instance registers: `budgets.series`' default.
    static let maxSeries = 10_000

    private struct Key: Hashable {
        let name: String
        let help: String
        let labels: [PluginLabel]
        let counter: Bool
    }

    /// The host's number for each registered series; 0 for "seen once" or "refused".
    private var numbers: [Key: stepflow_series] = [:]
    private var seenOnce: Set<Key> = []
    private var registered = 0

    /// Splits `metrics` into values of registered series and the samples to send whole, registering the series
    /// seen for the second time.
    mutating func split(
        _ metrics: [PluginMetric], api: UnsafePointer<stepflow_host_api>, host: OpaquePointer?
    ) -> (values: [stepflow_value], whole: [PluginMetric]) {
        guard Self.hostRegisters(api), let register = api.pointee.register_series else { return ([], metrics) }
        var values: [stepflow_value] = []
        var whole: [PluginMetric] = []
        values.reserveCapacity(metrics.count)
        for metric in metrics {
            let number: Double
            let counter: Bool
            switch metric.value {
            case .counter(let value): (number, counter) = (value, true)
            case .gauge(let value): (number, counter) = (value, false)
            case .histogram, .summary:
                whole.append(metric)
                continue
            }
            let key = Key(name: metric.name, help: metric.help, labels: metric.labels, counter: counter)
            if let series = numbers[key] {
                if series != 0 {
                    values.append(stepflow_value(series: series, reserved: 0, value: number, timestamp_ms: metric.timestampMilliseconds))
                } else {
                    whole.append(metric)
                }
                continue
            }
            guard registered < Self.maxSeries, seenOnce.remove(key) != nil else {
                if registered < Self.maxSeries, seenOnce.count < Self.maxSeries { seenOnce.insert(key) }
                whole.append(metric)
                continue
            }
            var series: stepflow_series = 0
            let status = MetricArena.withCMetrics([metric]) { samples, _ in register(host, samples, &series) }
            numbers[key] = status == STEPFLOW_OK ? series : 0
            if status == STEPFLOW_OK {
                registered += 1
                values.append(stepflow_value(series: series, reserved: 0, value: number, timestamp_ms: metric.timestampMilliseconds))
            } else {
                whole.append(metric)
            }
        }
        return (values, whole)
    }

    /// `STEPFLOW_HOST_HAS(api, emit_values)`: whether the host's table reaches `emit_values`.
    static func hostRegisters(_ api: UnsafePointer<stepflow_host_api>) -> Bool {
        let end = MemoryLayout<stepflow_host_api>.offset(of: \.emit_values)! + MemoryLayout<UnsafeRawPointer>.size
        return Int(api.pointee.struct_size) >= end
    }
}
