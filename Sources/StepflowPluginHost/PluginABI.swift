import CStepflowPlugin

/// The facts of the C ABI this host speaks, in Swift terms.
public enum PluginABI {
    /// `STEPFLOW_PLUGIN_ABI_VERSION`: the only ABI major version this host speaks.
    public static let version: UInt32 = STEPFLOW_PLUGIN_ABI_VERSION

    /// The symbol every plugin exports (`STEPFLOW_PLUGIN_ENTRY`).
    public static let entrySymbol: String = STEPFLOW_PLUGIN_ENTRY

    /// `STEPFLOW_PLUGIN_DESCRIPTOR_V1_SIZE`: the smallest descriptor the host accepts. The C macro uses
    /// `offsetof`, which Swift cannot import, so it is computed the same way here.
    public static let descriptorV1Size: Int =
        MemoryLayout<stepflow_plugin_descriptor>.offset(of: \.send_acknowledgment)! + MemoryLayout<UnsafeRawPointer>.size

    /// `sizeof(stepflow_plugin_descriptor)` as this host was compiled.
    public static let hostDescriptorSize: Int = MemoryLayout<stepflow_plugin_descriptor>.size

    /// `sizeof(stepflow_host_api)` as this host was compiled.
    public static let hostAPISize: Int = MemoryLayout<stepflow_host_api>.size

    /// The symbolic name of a status code, e.g. `STEPFLOW_ERR_INVALID`.
    static func statusName(_ status: Int32) -> String {
        switch status {
        case STEPFLOW_OK: return "STEPFLOW_OK"
        case STEPFLOW_ERR_FAILED: return "STEPFLOW_ERR_FAILED"
        case STEPFLOW_ERR_INVALID: return "STEPFLOW_ERR_INVALID"
        case STEPFLOW_ERR_UNAVAILABLE: return "STEPFLOW_ERR_UNAVAILABLE"
        case STEPFLOW_ERR_UNSUPPORTED: return "STEPFLOW_ERR_UNSUPPORTED"
        case STEPFLOW_ERR_BUDGET: return "STEPFLOW_ERR_BUDGET"
        case STEPFLOW_ERR_EXPIRED: return "STEPFLOW_ERR_EXPIRED"
        case STEPFLOW_ERR_NOMEM: return "STEPFLOW_ERR_NOMEM"
        default: return "unknown status \(status)"
        }
    }
}
