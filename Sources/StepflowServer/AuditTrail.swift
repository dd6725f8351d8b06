import Foundation
import StepflowCore
import StepflowLogs
import StepflowSecurity

/// The audit trail (docs/security.md, "Audit trail"): one log entry with component `audit` for every request that
/// changes state (rules, silences, acknowledge, resolve, reload, plugin restarts) and for every request refused for
/// authentication or authorization reasons, ingest included. Entries are stored like any log line, so the logs API
/// and CLI query them and retention applies; successful ingest is not audited (it is counted on `/metrics`).
public struct AuditTrail: Sendable {
    /// The component of every audit entry.
    public static let component = "audit"

    private let logs: LogEngine

    public init(logs: LogEngine) {
        self.logs = logs
    }

    /// Records one request: who (principal and role, or anonymous), from where, what (method, route, target), and
    /// the status it was answered with. Never waits: an entry the full log queue cannot take is dropped and counted
    /// there (`stepflow_logs_dropped_total`).
    func record(
        principal: Principal?, client: String, method: String, route: String, target: String?, status: Int,
        time: Date = Date()
    ) {
        let who = principal.map { "\($0.name) (\($0.role.rawValue))" } ?? "anonymous"
        var fields: [String: JSONValue] = [
            "principal": .string(principal?.name ?? "anonymous"), "client": .string(client),
            "method": .string(method), "route": .string(route), "status": .int(Int64(status)),
        ]
        if let principal { fields["role"] = .string(principal.role.rawValue) }
        if let target { fields["target"] = .string(target) }
        let result = status == 401 || status == 403 ? "refused" : status < 400 ? "done" : "failed"
        fields["result"] = .string(result)
        let message = "\(method) \(route)\(target.map { " [\($0)]" } ?? "") by \(who) from \(client): \(status) \(result)"
        logs.submit(LogEntry(
            level: status == 401 || status == 403 ? .warn : .info, message: message,
            context: LogContext(component: Self.component, userID: principal?.name, additionalFields: fields),
            timestamp: time))
    }
}
