import CStepflowPlugin

/// The object behind a plugin instance's opaque context: a collector, log exporter or notifier plus what the C
/// calls need. A non-generic base class, so the `@convention(c)` thunks can call it without knowing the plugin's
/// type; each subclass answers the calls of its capability, the others report `STEPFLOW_ERR_UNSUPPORTED`.
class CollectorInstance {
    let api: UnsafePointer<stepflow_host_api>
    let host: OpaquePointer?
    /// The last `metric_names` answer: the plugin owns it until the next call on this context.
    private var namesArena: UnsafeMutableRawPointer?

    init(api: UnsafePointer<stepflow_host_api>, host: OpaquePointer?) {
        self.api = api
        self.host = host
    }

    deinit { namesArena?.deallocate() }

    func collect(into emitter: OpaquePointer?) -> Int32 { unsupported("collect_metrics") }

    /// Answers `export_logs` (``LogExporterInstance``).
    func export(_ records: UnsafePointer<stepflow_log_record>?, _ count: Int) -> Int32 { unsupported("export_logs") }

    /// Answers `send_notification` (``AlertNotifierInstance``).
    func notify(_ alert: UnsafePointer<stepflow_alert>?) -> Int32 { unsupported("send_notification") }

    /// Answers `send_acknowledgment` (``AlertNotifierInstance``).
    func acknowledge(_ alertID: stepflow_str, _ user: stepflow_str, _ message: stepflow_str) -> Int32 {
        unsupported("send_acknowledgment")
    }

    private func unsupported(_ call: String) -> Int32 {
        report(PluginFailure(.unsupported, "this plugin does not implement \(call)"))
    }

    func names() throws -> [String] { [] }

    /// Answers `metric_names`: lays the names out in an arena kept until the next call.
    func names(_ outNames: UnsafeMutablePointer<UnsafePointer<stepflow_str>?>?, _ outCount: UnsafeMutablePointer<Int>?) -> Int32 {
        guard let outNames, let outCount else {
            return report(PluginFailure.invalid("metric_names was called with NULL output pointers"))
        }
        let names: [String]
        do {
            names = try self.names()
        } catch {
            return report(error)
        }
        namesArena?.deallocate()
        namesArena = nil
        guard !names.isEmpty else {
            outNames.pointee = nil
            outCount.pointee = 0
            return STEPFLOW_OK
        }
        let headerBytes = names.count * MemoryLayout<stepflow_str>.stride
        let byteCount = names.reduce(headerBytes) { $0 + $1.utf8.count }
        let arena = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: MemoryLayout<stepflow_str>.alignment)
        namesArena = arena
        let slices = arena.bindMemory(to: stepflow_str.self, capacity: names.count)
        var cursor = arena + headerBytes
        for (index, name) in names.enumerated() {
            var name = name
            let slice = name.withUTF8 { utf8 -> stepflow_str in
                guard let source = utf8.baseAddress, utf8.count > 0 else { return stepflow_str(ptr: nil, len: 0) }
                let start = cursor
                start.copyMemory(from: source, byteCount: utf8.count)
                cursor += utf8.count
                return stepflow_str(ptr: start.assumingMemoryBound(to: CChar.self), len: utf8.count)
            }
            (slices + index).initialize(to: slice)
        }
        outNames.pointee = UnsafePointer(slices)
        outCount.pointee = names.count
        return STEPFLOW_OK
    }

    /// Passes `error` to the host through `set_error` and returns the matching status code.
    func report(_ error: any Error) -> Int32 {
        Self.report(error, api: api, host: host)
    }

    static func report(_ error: any Error, api: UnsafePointer<stepflow_host_api>, host: OpaquePointer?) -> Int32 {
        let status: Int32
        switch error {
        case let failure as PluginFailure: status = failure.status.code
        case is PluginSettingsError: status = STEPFLOW_ERR_INVALID
        default: status = STEPFLOW_ERR_FAILED
        }
        if let setError = api.pointee.set_error {
            var message = String(describing: error)
            message.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    setError(host, stepflow_str(ptr: chars.baseAddress, len: chars.count))
                }
            }
        }
        return status
    }
}

/// A ``CollectorInstance`` holding a collector of a known type.
final class TypedCollectorInstance<Collector: CustomMetricsCollector>: CollectorInstance {
    private let collector: Collector
    private let logger: PluginLogger
    /// Collections run one at a time on an instance (the ABI's rule), so this needs no lock.
    private var registry = SeriesRegistry()

    init(collector: Collector, logger: PluginLogger, api: UnsafePointer<stepflow_host_api>, host: OpaquePointer?) {
        self.collector = collector
        self.logger = logger
        super.init(api: api, host: host)
    }

    override func collect(into emitter: OpaquePointer?) -> Int32 {
        let metrics: [PluginMetric]
        do {
            metrics = try collector.collectMetrics()
        } catch {
            return report(error)
        }
        guard let emit = api.pointee.emit_metrics else {
            return report(PluginFailure.failed("the host offers no emit_metrics function"))
        }
        let (values, whole) = registry.split(metrics, api: api, host: host)
        var status = STEPFLOW_OK
        if !values.isEmpty, let emitValues = api.pointee.emit_values {
            status = values.withUnsafeBufferPointer { emitValues(emitter, $0.baseAddress, $0.count) }
        }
        if status == STEPFLOW_OK, !whole.isEmpty {
            status = MetricArena.withCMetrics(whole) { samples, count in emit(emitter, samples, count) }
        }
        if status == STEPFLOW_ERR_BUDGET {
            // The host kept what fitted in the budget and counted the rest; the collection itself succeeded.
            logger.warning("the host dropped samples past this plugin's budget (\(metrics.count) emitted)")
            return STEPFLOW_OK
        }
        return status
    }

    override func names() throws -> [String] { collector.metricNames }
}
