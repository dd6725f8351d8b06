import CStepflowPlugin
import StepflowCore

/// Calls `body` with `alert` as a `stepflow_alert`, borrowed for the duration of the call: the struct, its
/// labels, annotations and every string share one ``BorrowedArena``.
func withBorrowedAlert<R>(_ alert: PluginAlert, _ body: (UnsafePointer<stepflow_alert>) -> R) -> R {
    var size = BorrowedArena.Size()
    size.add(stepflow_alert.self, count: 1)
    for text in [alert.alertID, alert.ruleID, alert.name, alert.description, alert.severity, alert.status] {
        size.add(text)
    }
    size.add(alert.labels)
    size.add(alert.annotations)
    return BorrowedArena.with(size) { arena in
        let pointer = arena.allocate(stepflow_alert.self, count: 1)!
        var entry = stepflow_alert()
        entry.alert_id = arena.place(alert.alertID)
        entry.rule_id = arena.place(alert.ruleID)
        entry.name = arena.place(alert.name)
        entry.description = arena.place(alert.description)
        entry.severity = arena.place(alert.severity)
        entry.status = arena.place(alert.status)
        entry.labels = arena.place(alert.labels)
        entry.label_count = alert.labels.count
        entry.annotations = arena.place(alert.annotations)
        entry.annotation_count = alert.annotations.count
        entry.value = alert.value
        entry.fired_at_ms = alert.firedAt.unixMilliseconds
        entry.resolved_at_ms = alert.resolvedAt?.unixMilliseconds ?? 0
        pointer.initialize(to: entry)
        return body(UnsafePointer(pointer))
    }
}

/// Calls `body` with the three strings of an acknowledgment, borrowed from one ``BorrowedArena``.
func withBorrowedAcknowledgment<R>(
    alertID: String, user: String, message: String,
    _ body: (stepflow_str, stepflow_str, stepflow_str) -> R
) -> R {
    var size = BorrowedArena.Size()
    for text in [alertID, user, message] { size.add(text) }
    return BorrowedArena.with(size) { arena in
        body(arena.place(alertID), arena.place(user), arena.place(message))
    }
}
