import CStepflowPlugin
import Logging

/// The host-API table handed to every plugin: allocated once, never freed, so its address is valid for the
/// life of the process as the header promises.
enum HostAPI {
    nonisolated(unsafe) static let table: UnsafePointer<stepflow_host_api> = {
        let table = UnsafeMutablePointer<stepflow_host_api>.allocate(capacity: 1)
        table.initialize(
            to: stepflow_host_api(
                abi_version: PluginABI.version,
                struct_size: UInt32(PluginABI.hostAPISize),
                log: hostLog,
                set_error: hostSetError,
                emit_metrics: hostEmitMetrics,
                register_series: hostRegisterSeries,
                emit_values: hostEmitValues
            ))
        return UnsafePointer(table)
    }()

    /// The swift-log level of a `stepflow_log_level`; unknown values log at `info`.
    static func level(_ level: Int32) -> Logger.Level {
        switch UInt32(bitPattern: level) {
        case STEPFLOW_LOG_TRACE.rawValue: return .trace
        case STEPFLOW_LOG_DEBUG.rawValue: return .debug
        case STEPFLOW_LOG_INFO.rawValue: return .info
        case STEPFLOW_LOG_WARN.rawValue: return .warning
        case STEPFLOW_LOG_ERROR.rawValue: return .error
        case STEPFLOW_LOG_FATAL.rawValue: return .critical
        default: return .info
        }
    }
}

/// `stepflow_host_api.log`: writes to the instance's logger (metadata `plugin=<name>`).
private func hostLog(_ host: OpaquePointer?, _ level: Int32, _ message: stepflow_str) {
    guard let host, let context = PluginHostContext.from(host, call: "log") else { return }
    context.logger.log(level: HostAPI.level(level), "\(MetricConversion.lossyText(message))")
}

/// `stepflow_host_api.set_error`: keeps a copy of the plugin's message for the error the host will throw.
private func hostSetError(_ host: OpaquePointer?, _ message: stepflow_str) {
    guard let host, let context = PluginHostContext.from(host, call: "set_error") else { return }
    context.setError(MetricConversion.lossyText(message))
}

/// `stepflow_host_api.emit_metrics`: copies the samples into Swift values before returning.
private func hostEmitMetrics(_ emitter: OpaquePointer?, _ metrics: UnsafePointer<stepflow_metric>?, _ count: Int) -> Int32 {
    guard let emitter else { return STEPFLOW_ERR_INVALID }
    guard let live = MetricEmitter.from(emitter, call: "emit_metrics") else { return STEPFLOW_ERR_EXPIRED }
    return live.emit(metrics, count: count)
}

/// `stepflow_host_api.register_series`: validates and keeps the series, stores its number.
private func hostRegisterSeries(
    _ host: OpaquePointer?, _ series: UnsafePointer<stepflow_metric>?, _ out: UnsafeMutablePointer<stepflow_series>?
) -> Int32 {
    guard let host else { return STEPFLOW_ERR_INVALID }
    guard let context = PluginHostContext.from(host, call: "register_series") else { return STEPFLOW_ERR_EXPIRED }
    guard let series, let out else {
        context.countRefusal(.nullPointer, detail: "register_series was called with a NULL series or out_series")
        return STEPFLOW_ERR_INVALID
    }
    let (number, status) = context.register(series.pointee)
    out.pointee = number
    return status
}

/// `stepflow_host_api.emit_values`: appends values of registered series to the collection.
private func hostEmitValues(_ emitter: OpaquePointer?, _ values: UnsafePointer<stepflow_value>?, _ count: Int) -> Int32 {
    guard let emitter else { return STEPFLOW_ERR_INVALID }
    guard let live = MetricEmitter.from(emitter, call: "emit_values") else { return STEPFLOW_ERR_EXPIRED }
    return live.emitValues(values, count: count)
}
