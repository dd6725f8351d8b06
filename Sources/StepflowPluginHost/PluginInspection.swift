import Foundation
import Logging

/// What `stepflow-monitor plugins inspect PATH` reports about a shared library: everything a plugin author
/// needs to see whether, and why (not), the host accepts it.
public struct PluginInspection: Sendable, CustomStringConvertible {
    /// The path as given.
    public let path: String
    /// The path with symbolic links resolved, when the file exists.
    public let resolvedPath: String?
    /// The validated descriptor, or the precise refusal.
    public let outcome: Result<PluginDescriptorInfo, PluginError>
    /// The plugin's metric names from an instance created with empty settings, or why there are none;
    /// `nil` when the library was refused or is not a metrics collector.
    public let metricNames: Result<[String], PluginError>?

    /// Whether the host accepts the library.
    public var isLoadable: Bool {
        if case .success = outcome { return true }
        return false
    }

    /// Loads the library at `path`, and when it is a metrics collector, creates an instance with empty settings
    /// to ask for its metric names (then shuts it down).
    ///
    /// - Parameter timeout: how long `create` plus `metric_names` may take; a plugin that hangs is reported as
    ///   timed out instead of hanging the inspection.
    public static func inspect(
        path: String,
        timeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "stepflow.plugin.inspect")
    ) async -> PluginInspection {
        let resolved = realpath(path, nil).map { pointer in
            defer { free(pointer) }
            return String(cString: pointer)
        }
        let library: PluginLibrary
        do {
            library = try PluginLibrary.load(path: path)
        } catch {
            return PluginInspection(path: path, resolvedPath: resolved, outcome: .failure(error), metricNames: nil)
        }
        var names: Result<[String], PluginError>?
        if library.info.capabilities.contains(.metricsCollector) {
            names = await withTaskGroup(of: Result<[String], PluginError>?.self) { group in
                group.addTask { await metricNames(of: library, logger: logger) }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return nil
                }
                // The first child to finish wins; a timeout cancels the plugin call, which then returns timedOut.
                var outcome: Result<[String], PluginError>?
                while let next = await group.next() {
                    group.cancelAll()
                    if let next {
                        outcome = next
                        break
                    }
                }
                group.cancelAll()
                return outcome
            }
        }
        return PluginInspection(path: path, resolvedPath: resolved, outcome: .success(library.info), metricNames: names)
    }

    private static func metricNames(of library: PluginLibrary, logger: Logger) async -> Result<[String], PluginError> {
        let instance: PluginInstance
        do {
            instance = try await PluginInstance(library: library, logger: logger)
        } catch {
            return .failure(error)
        }
        do {
            let names = try await instance.metricNames()
            await instance.shutdown()
            return .success(names)
        } catch {
            // A timed-out call may still be running: the instance is destroyed when it returns, not waited for.
            if error.code != .timedOut { await instance.shutdown() }
            return .failure(error)
        }
    }

    /// The human-readable report, one fact per line.
    public var description: String {
        var lines = ["plugin library:    \(path)"]
        lines.append("resolved path:     \(resolvedPath ?? "(does not exist)")")
        switch outcome {
        case .failure(let error):
            lines.append("status:            REFUSED (\(error.code))")
            lines.append("reason:            \(error.message)")
            if let hint = error.hint { lines.append("what to do:        \(hint)") }
            lines.append("host ABI:          version \(PluginABI.version), descriptor \(PluginABI.hostDescriptorSize) "
                + "bytes (minimum \(PluginABI.descriptorV1Size)), host-API table \(PluginABI.hostAPISize) bytes")
        case .success(let info):
            lines.append("status:            loadable")
            lines.append("name:              \(info.name)")
            lines.append("version:           \(info.version.isEmpty ? "(none)" : info.version)")
            lines.append("description:       \(info.description.isEmpty ? "(none)" : info.description)")
            lines.append("ABI version:       plugin \(info.abiVersion), host \(PluginABI.version)")
            lines.append("descriptor size:   plugin \(info.structSize) bytes, host \(PluginABI.hostDescriptorSize) "
                + "bytes (minimum \(PluginABI.descriptorV1Size))")
            lines.append("host-API table:    \(PluginABI.hostAPISize) bytes")
            lines.append("capabilities:      \(info.capabilities)")
            if !info.supportedFormats.isEmpty {
                lines.append("supported formats: \(info.supportedFormats.joined(separator: ", "))")
            }
            if !info.supportedChannels.isEmpty {
                lines.append("supported channels: \(info.supportedChannels.joined(separator: ", "))")
            }
            if info.capabilities.contains(.metricsCollector) {
                lines.append("default interval:  \(Self.format(info.defaultInterval))")
            }
            switch metricNames {
            case .none:
                break
            case .success(let names) where names.isEmpty:
                lines.append("metric names:      (none listed)")
            case .success(let names):
                lines.append("metric names:      \(names.count)")
                lines.append(contentsOf: names.map { "  \($0)" })
            case .failure(let error) where error.code == .unsupported:
                lines.append("metric names:      (the plugin does not implement metric_names)")
            case .failure(let error):
                lines.append("metric names:      unavailable with empty settings: \(error.message)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `15s`, or `1500ms` when not a whole number of seconds.
    private static func format(_ interval: Duration) -> String {
        let milliseconds = interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}
