import CStepflowPlugin

// Copies of what the host lends during one call; the SDK's types never point into host memory.

/// Copies a borrowed host string; invalid UTF-8 is replaced rather than refused.
func text(_ slice: stepflow_str) -> String {
    guard slice.len > 0, let pointer = slice.ptr else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: slice.len), as: UTF8.self)
}

/// A borrowed string that is empty when absent: `nil` for empty.
func optionalText(_ slice: stepflow_str) -> String? {
    slice.len > 0 ? text(slice) : nil
}

/// Copies `count` borrowed name/value pairs.
func copiedLabels(_ pairs: UnsafePointer<stepflow_label>?, _ count: Int) -> [PluginLabel] {
    guard let pairs, count > 0 else { return [] }
    return (0..<count).map { PluginLabel(text(pairs[$0].name), text(pairs[$0].value)) }
}

extension LogRecord {
    /// A copy of a record the host lends to `export_logs`. An unknown level reads as `info`.
    init(copying record: stepflow_log_record) {
        self.init(
            id: text(record.id),
            level: PluginLogLevel(rawValue: record.level) ?? .info,
            message: text(record.message),
            timestampMilliseconds: record.timestamp_ms,
            source: text(record.source),
            component: text(record.component),
            module: text(record.module),
            function: text(record.function),
            line: record.line >= 0 ? Int(truncatingIfNeeded: record.line) : nil,
            traceID: optionalText(record.trace_id),
            spanID: optionalText(record.span_id),
            userID: optionalText(record.user_id),
            requestID: optionalText(record.request_id),
            fields: copiedLabels(record.fields, record.field_count))
    }
}

extension Alert {
    /// A copy of the alert the host lends to `send_notification`.
    init(copying alert: stepflow_alert) {
        self.init(
            alertID: text(alert.alert_id),
            ruleID: text(alert.rule_id),
            name: text(alert.name),
            description: text(alert.description),
            severity: text(alert.severity),
            status: text(alert.status),
            labels: copiedLabels(alert.labels, alert.label_count),
            annotations: copiedLabels(alert.annotations, alert.annotation_count),
            value: alert.value,
            firedAtMilliseconds: alert.fired_at_ms,
            resolvedAtMilliseconds: alert.resolved_at_ms != 0 ? alert.resolved_at_ms : nil)
    }
}
