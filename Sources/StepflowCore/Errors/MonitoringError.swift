/// The error every manager protocol throws: the spec's `MonitoringError`.
///
/// A struct with a matchable ``Code`` rather than an enum, so that new codes can be added without breaking
/// callers that switch over them (the pattern of swift-service-lifecycle's `ServiceGroupError`).
public struct MonitoringError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is; compare with the static members, e.g. `error.code == .metricNotFound`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case metricNotFound = "Metric not found"
            case logNotFound = "Log not found"
            case traceNotFound = "Trace not found"
            case alertRuleNotFound = "Alert rule not found"
            case alertNotFound = "Alert not found"
            case healthCheckFailed = "Health check failed"
            case invalidMetricValue = "Invalid metric value"
            case invalidLogLevel = "Invalid log level"
            case invalidAlertCondition = "Invalid alert condition"
            case exportFailed = "Export failed"
            case cacheError = "Cache error"
            case databaseError = "Database error"
            case networkError = "Network error"
            case configurationError = "Configuration error"
            case internalError = "Internal error"
            case invalidQuery = "Invalid query"
            case queueFull = "Queue full"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        public var description: String { value.rawValue }

        public static let metricNotFound = Code(.metricNotFound)
        public static let logNotFound = Code(.logNotFound)
        public static let traceNotFound = Code(.traceNotFound)
        public static let alertRuleNotFound = Code(.alertRuleNotFound)
        public static let alertNotFound = Code(.alertNotFound)
        public static let healthCheckFailed = Code(.healthCheckFailed)
        public static let invalidMetricValue = Code(.invalidMetricValue)
        public static let invalidLogLevel = Code(.invalidLogLevel)
        public static let invalidAlertCondition = Code(.invalidAlertCondition)
        public static let exportFailed = Code(.exportFailed)
        public static let cacheError = Code(.cacheError)
        public static let databaseError = Code(.databaseError)
        public static let networkError = Code(.networkError)
        public static let configurationError = Code(.configurationError)
        public static let internalError = Code(.internalError)
        /// A filter, selector or query that does not parse or cannot be answered (not in the spec).
        public static let invalidQuery = Code(.invalidQuery)
        /// A bounded queue could not take what was handed to it in time (not in the spec).
        public static let queueFull = Code(.queueFull)
    }

    /// The kind of failure.
    public let code: Code
    /// What failed, with the context needed to act on it (names, paths, values).
    public let message: String
    /// What the user can do about it, when there is something to say.
    public let hint: String?

    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let hint { text += " (\(hint))" }
        return text
    }

    public static func metricNotFound(_ message: String) -> MonitoringError { .init(.metricNotFound, message) }
    public static func invalidMetricValue(_ message: String) -> MonitoringError { .init(.invalidMetricValue, message) }
    public static func databaseError(_ message: String, hint: String? = nil) -> MonitoringError {
        .init(.databaseError, message, hint: hint)
    }
    public static func healthCheckFailed(_ message: String) -> MonitoringError { .init(.healthCheckFailed, message) }
    public static func internalError(_ message: String) -> MonitoringError { .init(.internalError, message) }
    public static func invalidQuery(_ message: String, hint: String? = nil) -> MonitoringError {
        .init(.invalidQuery, message, hint: hint)
    }
}
