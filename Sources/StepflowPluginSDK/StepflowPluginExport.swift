import CStepflowPlugin
import Synchronization

/// Exports a collector type from a plugin library: call it from the entry function, which is the only symbol a
/// plugin exports:
///
/// ```swift
/// @_cdecl("stepflow_plugin_register")
/// public func stepflowPluginRegister(_ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
///     StepflowPluginExport.metricsCollector(SystemCollector.self, host: host)
/// }
/// ```
///
/// The SDK is compiled into each plugin image, so its state here is per image: one library exports one collector.
public enum StepflowPluginExport {
    /// Registers `collector` (on first use) and returns the plugin's static descriptor, or `nil` to refuse a host
    /// whose ABI version this SDK does not speak.
    ///
    /// - Parameter host: the `const stepflow_host_api *` the host passed to the entry function.
    /// - Returns: a `const stepflow_plugin_descriptor *`, valid while the library is loaded.
    public static func metricsCollector<Collector: CustomMetricsCollector>(
        _ collector: Collector.Type, host: UnsafeRawPointer?
    ) -> UnsafeRawPointer? {
        guard let host else { return nil }
        // abi_version and struct_size lead every version of the host-API table.
        let abiVersion = host.loadUnaligned(as: UInt32.self)
        let structSize = host.loadUnaligned(fromByteOffset: MemoryLayout<UInt32>.size, as: UInt32.self)
        let needed = MemoryLayout<stepflow_host_api>.offset(of: \.emit_metrics)! + MemoryLayout<UnsafeRawPointer>.size
        guard abiVersion == STEPFLOW_PLUGIN_ABI_VERSION, Int(structSize) >= needed else { return nil }

        let descriptor = registration.withLock { registration -> UnsafePointer<stepflow_plugin_descriptor> in
            if let existing = registration { return existing.descriptor }
            let made = Registration(factory: CollectorFactory(Collector.self), descriptor: makeDescriptor(Collector.self))
            registration = made
            return made.descriptor
        }
        return UnsafeRawPointer(descriptor)
    }

    /// Builds the descriptor once; it and its strings are never freed (the image is never unloaded).
    private static func makeDescriptor<Collector: CustomMetricsCollector>(
        _: Collector.Type
    ) -> UnsafePointer<stepflow_plugin_descriptor> {
        let components = Collector.collectionInterval.components
        let milliseconds = max(1, min(Int64(UInt32.max), components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000))
        var descriptor = stepflow_plugin_descriptor()
        descriptor.abi_version = STEPFLOW_PLUGIN_ABI_VERSION
        descriptor.struct_size = UInt32(MemoryLayout<stepflow_plugin_descriptor>.size)
        descriptor.name = permanentCString(Collector.collectorName)
        descriptor.version = permanentCString(Collector.version)
        descriptor.description = permanentCString(Collector.description)
        descriptor.capabilities = UInt64(STEPFLOW_CAP_METRICS_COLLECTOR)
        descriptor.default_interval_ms = UInt32(milliseconds)
        descriptor.create = createThunk
        descriptor.destroy = destroyThunk
        descriptor.collect_metrics = collectThunk
        descriptor.metric_names = metricNamesThunk
        let pointer = UnsafeMutablePointer<stepflow_plugin_descriptor>.allocate(capacity: 1)
        pointer.initialize(to: descriptor)
        return UnsafePointer(pointer)
    }
}

// MARK: - Per-image state

/// What the entry function registered: the collector's factory and the descriptor handed to the host.
/// Sendable because both are immutable once made and the descriptor is never freed.
private struct Registration: @unchecked Sendable {
    let factory: CollectorFactory
    let descriptor: UnsafePointer<stepflow_plugin_descriptor>
}

private let registration = Mutex<Registration?>(nil)

/// Creates instances of the registered collector type, without the thunks knowing the type.
private struct CollectorFactory {
    let make: (PluginSettings, UnsafePointer<stepflow_host_api>, OpaquePointer?) throws -> CollectorInstance

    init<Collector: CustomMetricsCollector>(_: Collector.Type) {
        make = { settings, api, host in
            let logger = PluginLogger(api: api, host: host)
            let collector = try Collector(settings: settings, logger: logger)
            return TypedCollectorInstance(collector: collector, logger: logger, api: api, host: host)
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
        return CollectorInstance.report(PluginFailure.failed("no collector was registered in this library"), api: api, host: host)
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

/// A NUL-terminated copy of `text` that is never freed (descriptor strings live as long as the image).
private func permanentCString(_ text: String) -> UnsafePointer<CChar> {
    let bytes = Array(text.utf8CString)
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    pointer.initialize(from: bytes, count: bytes.count)
    return UnsafePointer(pointer)
}

/// Copies a borrowed host string; invalid UTF-8 is replaced rather than refused.
private func text(_ slice: stepflow_str) -> String {
    guard slice.len > 0, let pointer = slice.ptr else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: slice.len), as: UTF8.self)
}
