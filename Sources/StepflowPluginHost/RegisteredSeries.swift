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
        // A repeat (plugins may register again on every collection) is answered before anything is added to the
        // template, which lives as long as the instance.
        if let key = Self.key(of: shape), let known = numbers[key] { return try checkType(of: known, shape, key) }
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
            return try checkType(of: known, shape, key)
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

    /// `known` when `shape` has its type; a series registered as a counter cannot come back as a gauge.
    private func checkType(of known: stepflow_series, _ shape: stepflow_metric, _ key: Key) throws(MetricRefusal) -> stepflow_series {
        let registered = template.type(at: Int(known) - 1)
        let given: MetricType = UInt32(bitPattern: shape.type) == STEPFLOW_METRIC_COUNTER.rawValue ? .counter : .gauge
        guard registered == given else {
            throw MetricRefusal(
                reason: .unregistrableType,
                detail: "\(key.name) with these labels is registered as a \(registered.rawValue) (series \(known)); "
                    + "it cannot be registered again as a \(given.rawValue)")
        }
        return known
    }

    /// The key of `shape` read straight from its C strings, or `nil` when they are not plain valid text (the full
    /// path then checks and explains them).
    private static func key(of shape: stepflow_metric) -> Key? {
        guard let name = try? MetricConversion.text(shape.name, what: "name"), !name.isEmpty else { return nil }
        guard shape.label_count <= MetricLimits.maxLabelsPerSample else { return nil }
        var pairs: [(String, String)] = []
        if shape.label_count > 0 {
            guard let labels = shape.labels else { return nil }
            for index in 0..<shape.label_count {
                guard let labelName = try? MetricConversion.text(labels[index].name, what: "label"),
                    let value = try? MetricConversion.text(labels[index].value, what: "value")
                else { return nil }
                pairs.append((labelName, value))
            }
        }
        return Key(name: name, labels: pairs.sorted { $0.0 < $1.0 }.flatMap { [$0.0, $0.1] })
    }
}
