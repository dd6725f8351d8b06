import StepflowCore

/// One `plugins:` entry as the reloader tracks it: its identity, its effective entry and what came of starting it.
struct PluginSlot: Sendable {
    /// The identity used to diff two configurations; see ``PluginSlot/keyed(_:defaultTimeout:)``.
    var key: String
    /// The entry with `timeout` filled in from `scheduler.default_timeout`, so that changing the default restarts
    /// exactly the plugins that use it.
    var entry: PluginConfig
    /// What starting it gave; `nil` for a disabled entry.
    var result: PluginLoadResult?

    /// The name in reports: the running name, else the entry's `name`, else its `path`.
    var displayName: String { result?.name ?? entry.name ?? entry.path }

    /// Whether the last start failed (the plugin is reported unhealthy with its reason).
    var failed: Bool { result?.error != nil }

    /// Keys and effective entries for a `plugins:` list.
    ///
    /// The identity of an entry is its `name`, else its `path` (known before the library is loaded, unlike the
    /// name the library declares). A key that repeats gets `#2`, `#3`, … in list order, so that every entry has
    /// its own slot; the loader already refuses two entries with the same `name`.
    static func keyed(_ entries: [PluginConfig], defaultTimeout: Duration) -> [(key: String, entry: PluginConfig)] {
        var seen: [String: Int] = [:]
        return entries.map { entry in
            var effective = entry
            effective.timeout = entry.timeout ?? defaultTimeout
            let base = entry.name ?? entry.path
            let occurrence = seen[base, default: 0] + 1
            seen[base] = occurrence
            return (occurrence == 1 ? base : "\(base)#\(occurrence)", effective)
        }
    }
}
