import CStepflowPlugin
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A loaded plugin shared library and a validated copy of its descriptor.
///
/// Loading opens the library with `dlopen(RTLD_NOW | RTLD_LOCAL)`, calls its `stepflow_plugin_register`
/// entry with the host-API table and checks what it returns.
///
/// A Swift plugin (one that links `libswiftCore.so`) is opened with `RTLD_NODELETE` too and never unmapped:
/// the Swift runtime keeps pointers into every image it has seen (docs/plugins.md, rule 8). A C plugin is closed when the
/// last reference to its `PluginLibrary` goes (its instances hold one until `destroy` has run), so a reload
/// after rebuilding it loads the new code. C plugins must therefore stop every thread they started in
/// `destroy`.
///
/// Sendable because every stored property is immutable after `load`, and the image stays mapped while this
/// object lives.
public final class PluginLibrary: @unchecked Sendable {
    /// What the plugin says it is and does.
    public let info: PluginDescriptorInfo

    /// Whether the library is unloaded when this object goes (a C plugin) or stays mapped for the life of the
    /// process (a Swift plugin, or one the host could not classify).
    public let unloadsWhenReleased: Bool

    /// The library file's identity when it was loaded: a reload compares it with the file's identity then, and
    /// restarts the plugin when they differ (a rebuilt library).
    public let fileIdentity: FileIdentity?

    /// The descriptor as a host-sized struct; members past the plugin's `struct_size` are zero (absent).
    let descriptor: stepflow_plugin_descriptor

    private let handle: UnsafeMutableRawPointer
    private let unloaded = Mutex(false)

    private init(
        info: PluginDescriptorInfo, descriptor: stepflow_plugin_descriptor, handle: UnsafeMutableRawPointer,
        unloadsWhenReleased: Bool, fileIdentity: FileIdentity?
    ) {
        self.fileIdentity = fileIdentity
        self.info = info
        self.descriptor = descriptor
        self.handle = handle
        self.unloadsWhenReleased = unloadsWhenReleased
    }

    deinit {
        unload()
    }

    /// Whether ``unload()`` has closed the library.
    public var isUnloaded: Bool { unloaded.withLock { $0 } }

    /// Unloads a C plugin now rather than when this object goes, so that loading the same path again maps the
    /// file afresh (a rebuilt plugin). Does nothing for a Swift plugin. Call it only once every instance made
    /// from this library has been shut down and no call is in flight: their code is unmapped.
    public func unload() {
        guard unloadsWhenReleased else { return }
        let close = unloaded.withLock { unloaded -> Bool in
            defer { unloaded = true }
            return !unloaded
        }
        if close { dlclose(handle) }
    }

    /// Loads the plugin at `path` and validates its descriptor.
    ///
    /// - Throws: ``PluginError`` with code `notFound`, `openFailed` (shows `dlerror()`), `missingSymbol`,
    ///   `registerFailed`, `abiMismatch`, `descriptorTooSmall` or `invalidDescriptor`, naming the file and reason.
    public static func load(path: String) throws(PluginError) -> PluginLibrary {
        let resolved = try resolve(path)

        let keepMapped = ELFDependencies.linksSwiftRuntime(path: resolved)
        // Opened from a private copy, so that nothing done to the file afterwards changes the running code.
        let identity = FileIdentity(path: resolved)
        var opened = resolved
        if let identity {
            do {
                opened = try PluginFileCopy.copy(resolved, identity: identity, shared: keepMapped)
            } catch {
                throw PluginError(
                    .openFailed, plugin: nil, path: path, message: error.message,
                    hint: "the host loads a private copy of each plugin from its temporary directory (TMPDIR); "
                        + "check that it is writable")
            }
        }
        _ = dlerror()
        let loaded = dlopen(opened, RTLD_NOW | RTLD_LOCAL | (keepMapped ? RTLD_NODELETE : 0))
        // A C plugin's copy goes at once (its mapping stays); a Swift plugin's stays for the process' life, since
        // opening it again by name must find the image that is never unloaded.
        if opened != resolved && (!keepMapped || loaded == nil) { PluginFileCopy.discard(opened) }
        guard let handle = loaded else {
            let reason = lastDLError() ?? "dlopen failed without a message"
            throw PluginError(.openFailed, plugin: nil, path: path, message: reason, hint: openFailureHint(reason))
        }
        // Until the PluginLibrary owns the handle, a refusal below must close it (a no-op for NODELETE).
        var owned = false
        defer { if !owned { dlclose(handle) } }

        _ = dlerror()
        guard let symbol = dlsym(handle, PluginABI.entrySymbol) else {
            throw PluginError(
                .missingSymbol, plugin: nil, path: path,
                message: "the library does not export '\(PluginABI.entrySymbol)'",
                hint: "export it with C linkage: in C `const stepflow_plugin_descriptor *stepflow_plugin_register("
                    + "const stepflow_host_api *)`, in Swift `@_cdecl(\"stepflow_plugin_register\")`; "
                    + "check with `nm -D \(path) | grep stepflow`"
            )
        }

        typealias Entry = @convention(c) (UnsafePointer<stepflow_host_api>?) -> UnsafePointer<stepflow_plugin_descriptor>?
        let entry = unsafeBitCast(symbol, to: Entry.self)
        guard let returned = entry(HostAPI.table) else {
            throw PluginError(
                .registerFailed, plugin: nil, path: path,
                message: "'\(PluginABI.entrySymbol)' returned NULL: the plugin refused this host "
                    + "(host ABI version \(PluginABI.version), host-API struct size \(PluginABI.hostAPISize))",
                hint: "rebuild the plugin against this host's stepflow_plugin.h, or see the plugin's own log output"
            )
        }

        let descriptor = try copyDescriptor(returned, path: path)
        let info = try validate(descriptor, path: path, resolvedPath: resolved)
        owned = true
        return PluginLibrary(
            info: info, descriptor: descriptor, handle: handle, unloadsWhenReleased: !keepMapped, fileIdentity: identity)
    }

    /// Resolves `path` to an absolute, symlink-free path (so `dlopen` never searches the library path).
    private static func resolve(_ path: String) throws(PluginError) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            throw PluginError(
                .notFound, plugin: nil, path: path, message: "cannot find the plugin library: \(reason)",
                hint: "check the `path` in the plugins section; a relative path is resolved against the current "
                    + "directory (\(FileManager.default.currentDirectoryPath)); example plugins are built by `swift build`"
            )
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw PluginError(
                .openFailed, plugin: nil, path: path, message: "the path is a directory, not a shared library",
                hint: "point `path` at the .so file inside it"
            )
        }
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    private static func lastDLError() -> String? {
        guard let message = dlerror() else { return nil }
        return String(cString: message)
    }

    private static func openFailureHint(_ reason: String) -> String {
        if reason.contains("invalid ELF header") || reason.contains("file too short") {
            return "the file is not a shared library; build the plugin with `cc -shared -fPIC` or as a `.dynamic` "
                + "SwiftPM library product"
        }
        if reason.contains("wrong ELF class") || reason.contains("cannot open shared object file") {
            return "a library the plugin depends on is missing or built for another architecture; list its "
                + "dependencies with `ldd` and install them or set LD_LIBRARY_PATH"
        }
        if reason.contains("undefined symbol") {
            return "the plugin uses a symbol no loaded library provides; link the library that defines it, and "
                + "build Swift plugins with this host's toolchain"
        }
        return "check the file with `file` and `ldd`"
    }

    /// Copies at most `struct_size` bytes of the plugin's descriptor into a zeroed host-sized struct.
    private static func copyDescriptor(
        _ pointer: UnsafePointer<stepflow_plugin_descriptor>, path: String
    ) throws(PluginError) -> stepflow_plugin_descriptor {
        // abi_version and struct_size are the first two members of every descriptor version.
        let raw = UnsafeRawPointer(pointer)
        let abiVersion = raw.loadUnaligned(as: UInt32.self)
        let structSize = raw.loadUnaligned(fromByteOffset: MemoryLayout<UInt32>.size, as: UInt32.self)

        guard abiVersion == PluginABI.version else {
            throw PluginError(
                .abiMismatch, plugin: nil, path: path,
                message: "the plugin speaks ABI version \(abiVersion), this host speaks ABI version \(PluginABI.version)",
                hint: "rebuild the plugin against the stepflow_plugin.h shipped with this host"
            )
        }
        guard Int(structSize) >= PluginABI.descriptorV1Size else {
            throw PluginError(
                .descriptorTooSmall, plugin: nil, path: path,
                message: "the descriptor's struct_size is \(structSize) bytes, the smallest this host accepts is "
                    + "\(PluginABI.descriptorV1Size) (STEPFLOW_PLUGIN_DESCRIPTOR_V1_SIZE)",
                hint: "set struct_size = sizeof(stepflow_plugin_descriptor) and rebuild against this host's header"
            )
        }

        var copy = stepflow_plugin_descriptor()
        withUnsafeMutableBytes(of: &copy) { destination in
            let count = min(Int(structSize), destination.count)
            destination.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: count))
        }
        return copy
    }

    private static func validate(
        _ descriptor: stepflow_plugin_descriptor, path: String, resolvedPath: String
    ) throws(PluginError) -> PluginDescriptorInfo {
        func invalid(_ message: String, _ hint: String, plugin: String? = nil) -> PluginError {
            PluginError(.invalidDescriptor, plugin: plugin, path: path, message: message, hint: hint)
        }

        guard let namePointer = descriptor.name else {
            throw invalid("the descriptor's name is NULL", "set `name` to a NUL-terminated string, e.g. \"filesystem\"")
        }
        guard let name = String(validatingCString: namePointer) else {
            throw invalid("the descriptor's name is not valid UTF-8", "use a plain ASCII name, e.g. \"filesystem\"")
        }
        guard !name.isEmpty else {
            throw invalid("the descriptor's name is empty", "set `name` to a non-empty string, e.g. \"filesystem\"")
        }
        let version = descriptor.version.flatMap { String(validatingCString: $0) } ?? ""
        let description = descriptor.description.flatMap { String(validatingCString: $0) } ?? ""
        let capabilities = PluginCapabilities(rawValue: descriptor.capabilities)

        var missing: [String] = []
        if descriptor.create == nil { missing.append("create") }
        if descriptor.destroy == nil { missing.append("destroy") }
        if capabilities.contains(.metricsCollector), descriptor.collect_metrics == nil {
            missing.append("collect_metrics (required by STEPFLOW_CAP_METRICS_COLLECTOR)")
        }
        if capabilities.contains(.logExporter), descriptor.export_logs == nil {
            missing.append("export_logs (required by STEPFLOW_CAP_LOG_EXPORTER)")
        }
        if capabilities.contains(.alertNotifier) {
            if descriptor.send_notification == nil {
                missing.append("send_notification (required by STEPFLOW_CAP_ALERT_NOTIFIER)")
            }
            if descriptor.send_acknowledgment == nil {
                missing.append("send_acknowledgment (required by STEPFLOW_CAP_ALERT_NOTIFIER)")
            }
        }
        guard missing.isEmpty else {
            throw invalid(
                "the descriptor lacks required function pointers: " + missing.joined(separator: ", "),
                "fill every function pointer the declared capabilities (\(capabilities)) require", plugin: name
            )
        }
        guard !capabilities.intersection(.known).isEmpty else {
            throw invalid(
                "the descriptor declares no capability this host knows (capabilities = \(capabilities))",
                "set `capabilities` to STEPFLOW_CAP_METRICS_COLLECTOR, STEPFLOW_CAP_LOG_EXPORTER and/or "
                    + "STEPFLOW_CAP_ALERT_NOTIFIER", plugin: name
            )
        }
        if capabilities.contains(.metricsCollector), descriptor.default_interval_ms == 0 {
            throw invalid(
                "the descriptor's default_interval_ms is 0",
                "set `default_interval_ms` to how often the host should collect, e.g. 15000", plugin: name
            )
        }

        return PluginDescriptorInfo(
            name: name,
            version: version,
            description: description,
            abiVersion: descriptor.abi_version,
            structSize: descriptor.struct_size,
            capabilities: capabilities,
            defaultInterval: .milliseconds(descriptor.default_interval_ms),
            path: path,
            resolvedPath: resolvedPath,
            listsMetricNames: descriptor.metric_names != nil,
            supportedFormats: list(descriptor.supported_formats),
            supportedChannels: list(descriptor.supported_channels)
        )
    }

    /// A comma-separated, NUL-terminated list from the descriptor; empty for NULL (or a member the plugin's
    /// struct_size does not cover, which the copy left zero).
    private static func list(_ pointer: UnsafePointer<CChar>?) -> [String] {
        guard let pointer, let text = String(validatingCString: pointer) else { return [] }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
