import CStepflowPlugin

/// An error a plugin throws to tell the host what went wrong and which status to return.
///
/// Any other error thrown by a collector is reported with `String(describing:)` and `STEPFLOW_ERR_FAILED`.
public struct PluginFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The status returned to the host.
    public struct Status: Sendable, Hashable {
        let code: Int32
        /// `STEPFLOW_ERR_FAILED`: a generic failure.
        public static let failed = Status(code: STEPFLOW_ERR_FAILED)
        /// `STEPFLOW_ERR_INVALID`: bad settings or arguments.
        public static let invalid = Status(code: STEPFLOW_ERR_INVALID)
        /// `STEPFLOW_ERR_UNAVAILABLE`: a resource the plugin needs is missing; the host tries again later.
        public static let unavailable = Status(code: STEPFLOW_ERR_UNAVAILABLE)
        /// `STEPFLOW_ERR_NOMEM`: an allocation failed; the host restarts a process-isolated plugin's runner.
        public static let outOfMemory = Status(code: STEPFLOW_ERR_NOMEM)
        /// `STEPFLOW_ERR_UNSUPPORTED`: the SDK's answer to a call the plugin's kind does not implement.
        static let unsupported = Status(code: STEPFLOW_ERR_UNSUPPORTED)
    }

    /// The status returned to the host.
    public let status: Status
    /// The message the host shows (passed through `set_error`).
    public let message: String

    public init(_ status: Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// A generic failure.
    public static func failed(_ message: String) -> PluginFailure { PluginFailure(.failed, message) }
    /// Bad settings.
    public static func invalid(_ message: String) -> PluginFailure { PluginFailure(.invalid, message) }
    /// A missing resource; the host tries again later.
    public static func unavailable(_ message: String) -> PluginFailure { PluginFailure(.unavailable, message) }

    public var description: String { message }
}
