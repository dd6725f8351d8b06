import CStepflowPlugin
import Synchronization

/// Exports a collector, log-exporter or notifier type from a plugin library: call it from the entry function, which is the only symbol a
/// plugin exports:
///
/// ```swift
/// @_cdecl("stepflow_plugin_register")
/// public func stepflowPluginRegister(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
///     StepflowPluginExport.metricsCollector(SystemCollector.self, host: host)
/// }
/// ```
///
/// The SDK is compiled into each plugin image, so its state here is per image: one library exports one plugin
/// type (a collector, a log exporter or a notifier).
public enum StepflowPluginExport {
    /// Registers `collector` (on first use) and returns the plugin's static descriptor, or `nil` to refuse a host
    /// whose ABI version this SDK does not speak.
    ///
    /// - Parameter host: the `const stepflow_host_api *` the host passed to the entry function.
    /// - Returns: a `const stepflow_plugin_descriptor *`, valid while the library is loaded.
    public static func metricsCollector<Collector: CustomMetricsCollector>(
        _ collector: Collector.Type, host: UnsafeRawPointer?
    ) -> UnsafeRawPointer? {
        register(host: host) {
            let components = Collector.collectionInterval.components
            let (whole, overflow) = components.seconds.multipliedReportingOverflow(by: 1000)
            let milliseconds = overflow || components.seconds < 0
                ? (components.seconds < 0 ? 1 : Int64(UInt32.max))
                : max(1, min(Int64(UInt32.max), whole &+ components.attoseconds / 1_000_000_000_000_000))
            var descriptor = baseDescriptor(
                name: Collector.collectorName, version: Collector.version, description: Collector.description,
                capabilities: STEPFLOW_CAP_METRICS_COLLECTOR)
            descriptor.default_interval_ms = UInt32(milliseconds)
            descriptor.collect_metrics = collectThunk
            descriptor.metric_names = metricNamesThunk
            return Registration(factory: InstanceFactory(Collector.self), descriptor: permanent(descriptor))
        }
    }

    /// Registers `exporter` (on first use) and returns the plugin's static descriptor: capability
    /// `STEPFLOW_CAP_LOG_EXPORTER`, `export_logs`, and `supported_formats` from
    /// ``CustomLogExporter/supportedFormats``. `nil` refuses a host whose ABI version this SDK does not speak.
    ///
    /// ```swift
    /// @_cdecl("stepflow_plugin_register")
    /// public func stepflowPluginRegister(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    ///     StepflowPluginExport.logExporter(MyExporter.self, host: host)
    /// }
    /// ```
    ///
    /// - Parameter host: the `const stepflow_host_api *` the host passed to the entry function.
    /// - Returns: a `const stepflow_plugin_descriptor *`, valid while the library is loaded.
    public static func logExporter<Exporter: CustomLogExporter>(
        _ exporter: Exporter.Type, host: UnsafeRawPointer?
    ) -> UnsafeRawPointer? {
        register(host: host) {
            var descriptor = baseDescriptor(
                name: Exporter.exporterName, version: Exporter.version, description: Exporter.description,
                capabilities: STEPFLOW_CAP_LOG_EXPORTER)
            descriptor.export_logs = exportLogsThunk
            descriptor.supported_formats = commaSeparated(Exporter.supportedFormats)
            return Registration(factory: InstanceFactory(Exporter.self), descriptor: permanent(descriptor))
        }
    }

    /// Registers `notifier` (on first use) and returns the plugin's static descriptor: capability
    /// `STEPFLOW_CAP_ALERT_NOTIFIER`, `send_notification`, `send_acknowledgment`, and `supported_channels` from
    /// ``CustomAlertNotifier/supportedChannels``. `nil` refuses a host whose ABI version this SDK does not speak.
    ///
    /// - Parameter host: the `const stepflow_host_api *` the host passed to the entry function.
    /// - Returns: a `const stepflow_plugin_descriptor *`, valid while the library is loaded.
    public static func alertNotifier<Notifier: CustomAlertNotifier>(
        _ notifier: Notifier.Type, host: UnsafeRawPointer?
    ) -> UnsafeRawPointer? {
        register(host: host) {
            var descriptor = baseDescriptor(
                name: Notifier.notifierName, version: Notifier.version, description: Notifier.description,
                capabilities: STEPFLOW_CAP_ALERT_NOTIFIER)
            descriptor.send_notification = sendNotificationThunk
            descriptor.send_acknowledgment = sendAcknowledgmentThunk
            descriptor.supported_channels = commaSeparated(Notifier.supportedChannels)
            return Registration(factory: InstanceFactory(Notifier.self), descriptor: permanent(descriptor))
        }
    }

    /// Checks the host's ABI, then makes the registration once per image (the first registration wins).
    private static func register(host: UnsafeRawPointer?, _ make: () -> Registration) -> UnsafeRawPointer? {
        guard let host else { return nil }
        // abi_version and struct_size lead every version of the host-API table.
        let abiVersion = host.loadUnaligned(as: UInt32.self)
        let structSize = host.loadUnaligned(fromByteOffset: MemoryLayout<UInt32>.size, as: UInt32.self)
        let needed = MemoryLayout<stepflow_host_api>.offset(of: \.emit_metrics)! + MemoryLayout<UnsafeRawPointer>.size
        guard abiVersion == STEPFLOW_PLUGIN_ABI_VERSION, Int(structSize) >= needed else { return nil }

        let descriptor = registration.withLock { registration -> UnsafePointer<stepflow_plugin_descriptor> in
            if let existing = registration { return existing.descriptor }
            let made = make()
            registration = made
            return made.descriptor
        }
        return UnsafeRawPointer(descriptor)
    }

    /// The members every descriptor has: versions, strings, capability bits, `create` and `destroy`.
    private static func baseDescriptor(
        name: String, version: String, description: String, capabilities: UInt64
    ) -> stepflow_plugin_descriptor {
        var descriptor = stepflow_plugin_descriptor()
        descriptor.abi_version = STEPFLOW_PLUGIN_ABI_VERSION
        descriptor.struct_size = UInt32(MemoryLayout<stepflow_plugin_descriptor>.size)
        descriptor.name = permanentCString(name)
        descriptor.version = permanentCString(version)
        descriptor.description = permanentCString(description)
        descriptor.capabilities = capabilities
        descriptor.create = createThunk
        descriptor.destroy = destroyThunk
        return descriptor
    }

    /// `items` joined with commas as a permanent C string, or `NULL` for none.
    private static func commaSeparated(_ items: [String]) -> UnsafePointer<CChar>? {
        items.isEmpty ? nil : permanentCString(items.joined(separator: ","))
    }

    /// A copy of `descriptor` that is never freed (the image is never unloaded).
    private static func permanent(_ descriptor: stepflow_plugin_descriptor) -> UnsafePointer<stepflow_plugin_descriptor> {
        let pointer = UnsafeMutablePointer<stepflow_plugin_descriptor>.allocate(capacity: 1)
        pointer.initialize(to: descriptor)
        return UnsafePointer(pointer)
    }
}

// MARK: - Per-image state

/// What the entry function registered: the plugin type's factory and the descriptor handed to the host.
/// Sendable because both are immutable once made and the descriptor is never freed.
private struct Registration: @unchecked Sendable {
    let factory: InstanceFactory
    let descriptor: UnsafePointer<stepflow_plugin_descriptor>
}

private let registration = Mutex<Registration?>(nil)

/// Creates instances of the registered plugin type, without the thunks knowing the type.
private struct InstanceFactory {
    let make: (PluginSettings, UnsafePointer<stepflow_host_api>, OpaquePointer?) throws -> CollectorInstance

    init<Collector: CustomMetricsCollector>(_: Collector.Type) {
        make = { settings, api, host in
            let logger = PluginLogger(api: api, host: host)
            let collector = try Collector(settings: settings, logger: logger)
            return TypedCollectorInstance(collector: collector, logger: logger, api: api, host: host)
        }
    }

    init<Exporter: CustomLogExporter>(_: Exporter.Type) {
        make = { settings, api, host in
            let exporter = try Exporter(settings: settings, logger: PluginLogger(api: api, host: host))
            return LogExporterInstance(exporter: exporter, api: api, host: host)
        }
    }

    init<Notifier: CustomAlertNotifier>(_: Notifier.Type) {
        make = { settings, api, host in
            let notifier = try Notifier(settings: settings, logger: PluginLogger(api: api, host: host))
            return AlertNotifierInstance(notifier: notifier, api: api, host: host)
        }
    }
}

// MARK: - The C thunks (never unwind: every Swift error becomes set_error + a status code)

private func createThunk(
    _ api: UnsafePointer<stepflow_host_api>?,
    _ host: OpaquePointer?,
    _ settings: UnsafePointer<stepflow_setting>?,
    _ settingCount: Int,
    _ outContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> Int32 {
    guard let api, let outContext else { return STEPFLOW_ERR_INVALID }
    guard let factory = registration.withLock({ $0 })?.factory else {
        return CollectorInstance.report(PluginFailure.failed("no plugin type was registered in this library"), api: api, host: host)
    }
    var values: [String: String] = [:]
    if let settings {
        for index in 0..<settingCount {
            values[text(settings[index].name)] = text(settings[index].value)
        }
    }
    do {
        let instance = try factory.make(PluginSettings(values), api, host)
        outContext.pointee = Unmanaged.passRetained(instance).toOpaque()
        return STEPFLOW_OK
    } catch {
        return CollectorInstance.report(error, api: api, host: host)
    }
}

private func destroyThunk(_ context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<CollectorInstance>.fromOpaque(context).release()
}

private func collectThunk(_ context: UnsafeMutableRawPointer?, _ emitter: OpaquePointer?) -> Int32 {
    guard let context else { return STEPFLOW_ERR_INVALID }
    return Unmanaged<CollectorInstance>.fromOpaque(context).takeUnretainedValue().collect(into: emitter)
}

private func metricNamesThunk(
    _ context: UnsafeMutableRawPointer?,
    _ outNames: UnsafeMutablePointer<UnsafePointer<stepflow_str>?>?,
    _ outCount: UnsafeMutablePointer<Int>?
) -> Int32 {
    guard let context else { return STEPFLOW_ERR_INVALID }
    return Unmanaged<CollectorInstance>.fromOpaque(context).takeUnretainedValue().names(outNames, outCount)
}

private func exportLogsThunk(
    _ context: UnsafeMutableRawPointer?, _ records: UnsafePointer<stepflow_log_record>?, _ count: Int
) -> Int32 {
    guard let context else { return STEPFLOW_ERR_INVALID }
    return Unmanaged<CollectorInstance>.fromOpaque(context).takeUnretainedValue().export(records, count)
}

private func sendNotificationThunk(_ context: UnsafeMutableRawPointer?, _ alert: UnsafePointer<stepflow_alert>?) -> Int32 {
    guard let context else { return STEPFLOW_ERR_INVALID }
    return Unmanaged<CollectorInstance>.fromOpaque(context).takeUnretainedValue().notify(alert)
}

private func sendAcknowledgmentThunk(
    _ context: UnsafeMutableRawPointer?, _ alertID: stepflow_str, _ user: stepflow_str, _ message: stepflow_str
) -> Int32 {
    guard let context else { return STEPFLOW_ERR_INVALID }
    return Unmanaged<CollectorInstance>.fromOpaque(context).takeUnretainedValue().acknowledge(alertID, user, message)
}

/// A NUL-terminated copy of `text` that is never freed (descriptor strings live as long as the image).
private func permanentCString(_ text: String) -> UnsafePointer<CChar> {
    let bytes = Array(text.utf8CString)
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    pointer.initialize(from: bytes, count: bytes.count)
    return UnsafePointer(pointer)
}
