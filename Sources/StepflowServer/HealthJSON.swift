import Foundation
import StepflowCore

/// The JSON body of the health endpoints.
enum HealthJSON {
    static func encode(_ health: SystemHealth) -> String {
        var components: [String: JSONValue] = [:]
        for component in health.components {
            components[component.component] = encode(component)
        }
        return JSONValue.object([
            "status": .string(health.status.rawValue),
            "checked_at": .string(timestamp(health.checkedAt)),
            "components": .object(components),
        ]).jsonText
    }

    static func encode(_ status: HealthStatus) -> JSONValue {
        let milliseconds = status.responseTime.inSeconds * 1000
        return .object([
            "component": .string(status.component),
            "status": .string(status.status.rawValue),
            "message": .string(status.message),
            "last_check": .string(timestamp(status.lastCheck)),
            "response_time_ms": .double((milliseconds * 1000).rounded() / 1000),
            "details": .object(status.details),
        ])
    }

    static func timestamp(_ date: Date) -> String {
        date.rfc3339
    }
}
