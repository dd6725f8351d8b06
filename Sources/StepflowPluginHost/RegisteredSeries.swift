import CStepflowPlugin
import StepflowCore

/// The counter and gauge series one plugin instance registered with `register_series`.
///
/// They are kept as a template ``MetricBatch``: sample `n - 1` is series `n`, its strings validated once and
/// stored once. `emit_values` then appends one fixed-size record per value, pointing at the template's strings and
/// labels, which the collection's batch shares (``MetricBatch/appendTable(of:)``): no string is read, checked,
/// hashed or retained per value.
struct RegisteredSeries: Sendable {
    /// What a series is, to find a repeated registration: its name and its labels, sorted.
    private struct Key: Hashable, Sendable {
        let name: String
        let labels: [String]
    }

    /// The registered series, in registration order.
    private(set) var template = MetricBatch()
    /// Validates and deduplicates the template's strings (kept apart from the collections' interner).
    private var interner = StringInterner()
    private var numbers: [Key: stepflow_series] = [:]

    /// Validates `shape` as `emit_metrics` would and returns its series number, the same for the same name
    /// and labels.
    mutating func register(_ shape: stepflow_metric) throws(MetricRefusal) -> stepflow_series {
        switch UInt32(bitPattern: shape.type) {
        case STEPFLOW_METRIC_COUNTER.rawValue, STEPFLOW_METRIC_GAUGE.rawValue: break
        default:
            throw MetricRefusal(
                reason: .unregistrableType,
                detail: "register_series takes counters and gauges (type \(shape.type) was given); "
                    + "send histograms and summaries with emit_metrics")
        }
        var shape = shape
        shape.value = 0
        shape.timestamp_ms = 1
        interner.beginCall()
        try MetricConversion.append(shape, to: &template, now: 0, interner: &interner)
        let position = template.count - 1
        let key = Key(
            name: template.name(at: position),
            labels: template.labels(at: position).sorted { $0.name < $1.name }.flatMap { [$0.name, $0.value] })
        if let known = numbers[key] {
            template.removeLastSample()
            return known
        }
        guard template.count <= MetricLimits.maxRegisteredSeries else {
            template.removeLastSample()
            throw MetricRefusal(
                reason: .tooManyRegisteredSeries,
                detail: "\(key.name) would be series \(template.count + 1) of this instance; "
                    + "the limit is \(MetricLimits.maxRegisteredSeries)")
        }
        let number = stepflow_series(template.count)
        numbers[key] = number
        return number
    }
}
