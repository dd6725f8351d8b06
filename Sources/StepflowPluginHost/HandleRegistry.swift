import Logging
import Synchronization

/// The handles the host gives plugins (`stepflow_emitter *`, `stepflow_host *`), checked on every call.
///
/// A handle is a number that is never reused, not an object's address: a plugin that keeps one past its life —
/// an emitter after `collect_metrics` returned, a host handle after `destroy` — calls with a number the registry
/// no longer holds, and the call is refused with `STEPFLOW_ERR_EXPIRED` instead of following a dangling pointer
/// (docs/plugins.md, rule 3). The refusal is counted per plugin and call, and logged once per plugin and call.
final class HandleRegistry<Object: AnyObject & Sendable>: Sendable {
    private struct State {
        var live: [UInt: Object] = [:]
        /// The plugin of each handle that went away, for naming it in a late call: the newest 4,096 to 8,192.
        var expired: [UInt: String] = [:]
        var expiredOrder: [UInt] = []
    }

    private let state = Mutex(State())
    /// Handle numbers start high and step by 8, so that none is a small integer or a plausible address by accident.
    private static var first: UInt { 0x5F1F_0000_0000 }
    private let next = Atomic<UInt>(0)

    /// Registers `object` and returns its handle.
    func register(_ object: Object) -> UInt {
        let handle = Self.first &+ next.wrappingAdd(8, ordering: .relaxed).newValue
        state.withLock { $0.live[handle] = object }
        return handle
    }

    /// The object behind `handle`, retained, or `nil` when the handle is unknown or expired.
    func object(_ handle: UInt) -> Object? { state.withLock { $0.live[handle] } }

    /// Ends `handle`'s life; a later call with it is refused and attributed to `plugin`.
    func expire(_ handle: UInt, plugin: String) {
        state.withLock { state in
            guard state.live.removeValue(forKey: handle) != nil else { return }
            state.expired[handle] = plugin
            state.expiredOrder.append(handle)
            if state.expiredOrder.count > 8192 {
                // Drop the older half at once, so the ring costs O(1) per expiry on average.
                let excess = state.expiredOrder.count - 4096
                for handle in state.expiredOrder.prefix(excess) { state.expired[handle] = nil }
                state.expiredOrder.removeFirst(excess)
            }
        }
    }

    /// The plugin a handle belonged to, when it expired recently.
    func owner(ofExpired handle: UInt) -> String? { state.withLock { $0.expired[handle] } }

    /// The object behind a handle a plugin passed to host-API `call`, or `nil` when the handle is not live (its
    /// call or instance ended, or it was never issued): then the misuse is counted and logged against its plugin.
    func object(passedTo call: String, _ pointer: OpaquePointer) -> Object? {
        let handle = UInt(bitPattern: pointer)
        if let object = object(handle) { return object }
        PluginAPIMisuse.record(plugin: owner(ofExpired: handle), call: call)
        return nil
    }
}

/// Calls of the host API made with a handle that is no longer valid, per plugin and call
/// (`stepflow_plugin_api_misuse_total{plugin,call}`).
public enum PluginAPIMisuse {
    private static let counts = Mutex<[String: [String: UInt64]]>([:])
    private static let logger = Logger(label: "stepflow.plugin")

    /// Counts one misuse; the first of each plugin and call is logged, naming the plugin.
    static func record(plugin: String?, call: String) {
        let name = plugin ?? "unknown"
        let first = counts.withLock { counts in
            counts[name, default: [:]][call, default: 0] += 1
            return counts[name]?[call] == 1
        }
        if first {
            logger.error(
                "a plugin called the host with a handle that is no longer valid; the call was refused (STEPFLOW_ERR_EXPIRED)",
                metadata: [
                    "plugin": "\(name)", "call": "\(call)",
                    "hint": "an emitter is valid only during collect_metrics, a host handle only until destroy",
                ])
        }
    }

    /// Every count: plugin, call, count.
    public static var all: [(plugin: String, call: String, count: UInt64)] {
        counts.withLock { counts in counts.flatMap { plugin, calls in calls.map { (plugin, $0.key, $0.value) } } }
            .sorted { ($0.plugin, $0.call) < ($1.plugin, $1.call) }
    }

    /// The count for one plugin, over all calls.
    public static func count(plugin: String) -> UInt64 {
        counts.withLock { $0[plugin]?.values.reduce(0, +) ?? 0 }
    }
}
