import CStepflowPlugin

/// Severities of plugin log lines; the host maps them onto its own logger.
public enum PluginLogLevel: Int32, Sendable, Hashable, CaseIterable {
    case trace = 0
    case debug = 1
    case info = 2
    case warning = 3
    case error = 4
    case fatal = 5
}

/// Writes log lines through the host's `log` function; the host tags them with the plugin's name.
///
/// Sendable: the host's `log` may be called from any thread, and the handle stays valid for the instance's life.
public struct PluginLogger: @unchecked Sendable {
    private enum Sink {
        case host(api: UnsafePointer<stepflow_host_api>, host: OpaquePointer?)
        case closure(@Sendable (PluginLogLevel, String) -> Void)
    }

    private let sink: Sink

    init(api: UnsafePointer<stepflow_host_api>, host: OpaquePointer?) {
        sink = .host(api: api, host: host)
    }

    /// A logger that hands every line to `write`: for unit tests of a collector, outside any host.
    public init(_ write: @escaping @Sendable (PluginLogLevel, String) -> Void) {
        sink = .closure(write)
    }

    /// Writes one line at `level`.
    public func log(_ level: PluginLogLevel, _ message: String) {
        switch sink {
        case .closure(let write):
            write(level, message)
        case .host(let api, let host):
            guard let log = api.pointee.log else { return }
            var message = message
            message.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    log(host, level.rawValue, stepflow_str(ptr: chars.baseAddress, len: chars.count))
                }
            }
        }
    }

    public func trace(_ message: String) { log(.trace, message) }
    public func debug(_ message: String) { log(.debug, message) }
    public func info(_ message: String) { log(.info, message) }
    public func warning(_ message: String) { log(.warning, message) }
    public func error(_ message: String) { log(.error, message) }
}
