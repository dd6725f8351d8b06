import Foundation
import StepflowCore
import StepflowWireFormats

/// OTLP log records as the host's log entries (docs/ingest.md, "OTLP: mapping").
enum OTLPLogs {
    /// The entries of a request, and for each record that cannot be one, why.
    static func entries(
        _ request: Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest, ids: OTLPIdentifiers, now: Date
    ) -> (entries: [LogEntry], rejected: [String]) {
        var entries: [LogEntry] = []
        var rejected: [String] = []
        for resourceLogs in request.resourceLogs {
            let resourceAttributes = resourceLogs.resource.attributes
            let service = OTLPAttributes.string("service.name", in: resourceAttributes) ?? ""
            var resource = OTLPAttributes.object(resourceAttributes)
            resource["service.name"] = nil
            for scopeLogs in resourceLogs.scopeLogs {
                for record in scopeLogs.logRecords {
                    switch entry(record, service: service, resource: resource, scope: scopeLogs.scope.name, ids: ids, now: now) {
                    case .success(let entry): entries.append(entry)
                    case .failure(let rejection): rejected.append(rejection.reason)
                    }
                }
            }
        }
        return (entries, rejected)
    }

    static func entry(
        _ record: Opentelemetry_Proto_Logs_V1_LogRecord, service: String, resource: [String: JSONValue],
        scope: String, ids: OTLPIdentifiers, now: Date
    ) -> Result<LogEntry, OTLPRejection> {
        var traceID: String?
        if !record.traceID.isEmpty {
            guard let id = ids.traceID(record.traceID) else { return .failure("a log record's trace id is not 16 bytes") }
            traceID = "\(id)"
        }
        var spanID: String?
        if !record.spanID.isEmpty {
            guard let id = ids.spanID(record.spanID) else { return .failure("a log record's span id is not 8 bytes") }
            spanID = "\(id)"
        }
        var fields = resource
        var attributes = OTLPAttributes.object(record.attributes)
        // Source-code attributes of the semantic conventions become the entry's own fields.
        let function = take("code.function.name", "code.function", from: &attributes)
        let file = take("code.file.path", "code.filepath", from: &attributes)
        var line: UInt32?
        for key in ["code.line.number", "code.lineno"] {
            if case .int(let number)? = attributes[key], let value = UInt32(exactly: number) {
                line = value
                attributes[key] = nil
            }
        }
        for (key, value) in attributes { fields[key] = value }
        if !record.severityText.isEmpty { fields["severity_text"] = .string(record.severityText) }
        let timestamp = OTLPAttributes.date(nanoseconds: record.timeUnixNano)
            ?? OTLPAttributes.date(nanoseconds: record.observedTimeUnixNano) ?? now
        let context = LogContext(
            component: service, module: file ?? scope, function: function ?? "", line: line, traceID: traceID,
            spanID: spanID, additionalFields: fields)
        return .success(LogEntry(
            level: level(record.severityNumber, text: record.severityText), message: OTLPAttributes.text(record.body),
            context: context, timestamp: timestamp, source: "otlp"))
    }

    /// The level of an OTLP severity number (1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error, 21–24
    /// fatal), or of its text when the number is unset; info when neither says.
    static func level(_ number: Opentelemetry_Proto_Logs_V1_SeverityNumber, text: String) -> LogLevel {
        switch number.rawValue {
        case 1...4: return .trace
        case 5...8: return .debug
        case 9...12: return .info
        case 13...16: return .warn
        case 17...20: return .error
        case 21...24: return .fatal
        default:
            switch text.lowercased() {
            case "trace": return .trace
            case "debug": return .debug
            case "warn", "warning": return .warn
            case "error": return .error
            case "fatal", "critical": return .fatal
            default: return .info
            }
        }
    }

    /// The first of `keys` that holds a string, removed from `attributes`.
    private static func take(_ keys: String..., from attributes: inout [String: JSONValue]) -> String? {
        for key in keys {
            if case .string(let text)? = attributes[key] {
                attributes[key] = nil
                return text
            }
        }
        return nil
    }
}
