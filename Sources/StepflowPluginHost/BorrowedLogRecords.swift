import CStepflowPlugin
import StepflowCore
import Foundation

/// Calls `body` with `records` as a C array of `stepflow_log_record`, borrowed for the duration of the call: the
/// records, their fields and every string share one ``BorrowedArena``.
func withBorrowedLogRecords<R>(
    _ records: [PluginLogRecord],
    _ body: (UnsafePointer<stepflow_log_record>?, Int) -> R
) -> R {
    guard !records.isEmpty else { return body(nil, 0) }
    var size = BorrowedArena.Size()
    size.add(stepflow_log_record.self, count: records.count)
    for record in records {
        for text in [record.id, record.message, record.source, record.component, record.module, record.function] {
            size.add(text)
        }
        for text in [record.traceID, record.spanID, record.userID, record.requestID] { size.add(text ?? "") }
        size.add(record.fields)
    }
    return BorrowedArena.with(size) { arena in
        guard let array = arena.allocate(stepflow_log_record.self, count: records.count) else { return body(nil, 0) }
        for (index, record) in records.enumerated() {
            var entry = stepflow_log_record()
            entry.id = arena.place(record.id)
            entry.level = record.level.rawValue
            entry.message = arena.place(record.message)
            entry.timestamp_ms = record.timestamp.unixMilliseconds
            entry.source = arena.place(record.source)
            entry.component = arena.place(record.component)
            entry.module = arena.place(record.module)
            entry.function = arena.place(record.function)
            entry.line = record.line.map(Int64.init) ?? -1
            entry.trace_id = arena.place(record.traceID ?? "")
            entry.span_id = arena.place(record.spanID ?? "")
            entry.user_id = arena.place(record.userID ?? "")
            entry.request_id = arena.place(record.requestID ?? "")
            entry.fields = arena.place(record.fields)
            entry.field_count = record.fields.count
            (array + index).initialize(to: entry)
        }
        return body(UnsafePointer(array), records.count)
    }
}
