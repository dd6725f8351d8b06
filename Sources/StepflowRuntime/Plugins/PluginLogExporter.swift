import Foundation
import StepflowCore
import StepflowPluginHost

/// A log-exporter plugin as the host's log export sees it: entries become `stepflow_log_record`s, a plugin error
/// an `exportFailed` naming the plugin.
struct PluginLogExporter: LogExporter {
    let name: String
    let instance: any PluginCollector

    func exportLogsBatch(_ entries: [LogEntry]) async throws(MonitoringError) {
        do throws(PluginError) {
            try await instance.exportLogs(entries.map(Self.record))
        } catch {
            throw MonitoringError(.exportFailed, "log exporter plugin \(instance.name): \(error.message)", hint: error.hint)
        }
    }

    func shutdown() async { await instance.shutdown() }

    static func record(_ entry: LogEntry) -> PluginLogRecord {
        let context = entry.context
        return PluginLogRecord(
            id: entry.id.rawValue, level: PluginLogRecord.Level(rawValue: Int32(entry.level.severity)) ?? .info,
            message: entry.message, timestamp: entry.timestamp, source: entry.source, component: context.component,
            module: context.module, function: context.function, line: context.line.map(Int.init),
            traceID: context.traceID, spanID: context.spanID, userID: context.userID, requestID: context.requestID,
            fields: context.additionalFields.sorted { $0.key < $1.key }.map { ($0.key, $0.value.settingText) })
    }
}
