import Foundation
import StepflowCore

/// What one configuration reload did (``MonitoringRuntime/reload()``).
///
/// Plugins are named as in `/health` without the `plugin:` prefix: the entry's `name`, else the name the library
/// declares (for an entry that was never loaded, its `path`).
public struct ReloadReport: Sendable, Hashable {
    /// Where the configuration was read from: a file path, or the embedded default's name.
    public var source: String
    /// `true` when the new configuration did not validate: nothing was changed, the running configuration is
    /// kept, and ``errors`` lists every issue (`file:line:column: key: message`).
    public var refused: Bool
    /// Plugins whose entry is new; started.
    public var added: [String]
    /// Plugins whose entry is gone; stopped.
    public var removed: [String]
    /// Plugins whose entry changed (path, isolation, interval, timeout, settings, enabled), or that had failed to
    /// start before; stopped, then started with the new entry.
    public var restarted: [String]
    /// Plugins whose entry is the same; left running untouched (same instance, same counters).
    public var unchanged: [String]
    /// Changed settings that only take effect after a restart (such as `http.port`); not applied.
    public var restartRequired: [String]
    /// The configuration's issues when ``refused``; otherwise one line per plugin that failed to start
    /// (each is also unhealthy in `/health` with its reason).
    public var errors: [String]

    /// Creates a report; see the properties for what each argument means.
    public init(
        source: String, refused: Bool = false, added: [String] = [], removed: [String] = [],
        restarted: [String] = [], unchanged: [String] = [], restartRequired: [String] = [], errors: [String] = []
    ) {
        self.source = source
        self.refused = refused
        self.added = added
        self.removed = removed
        self.restarted = restarted
        self.unchanged = unchanged
        self.restartRequired = restartRequired
        self.errors = errors
    }

    /// The report as the JSON object `POST /api/v1/admin/reload` answers with:
    /// `{"status": "applied" | "refused", "source", "added", "removed", "restarted", "unchanged",
    /// "restart_required", "errors"}`, and `certificate_expires` when the HTTPS certificate was re-read.
    public var json: JSONValue {
        func list(_ names: [String]) -> JSONValue { .array(names.map(JSONValue.string)) }
        var object: [String: JSONValue] = [
            "status": .string(refused ? "refused" : "applied"),
            "source": .string(source),
            "added": list(added),
            "removed": list(removed),
            "restarted": list(restarted),
            "unchanged": list(unchanged),
            "restart_required": list(restartRequired),
            "errors": list(errors),
        ]
        if let certificateExpires { object["certificate_expires"] = .string(certificateExpires.rfc3339Seconds) }
        return .object(object)
    }

    /// When the HTTPS certificate re-read by this reload expires (`nil`: no `http.tls`, or it could not be read).
    public var certificateExpires: Date?

    /// Set by a restart of one plugin (``MonitoringRuntime/restartPlugin(_:)``) that names none configured.
    public var unknownPlugin = false

    /// The HTTP status for this report: 404 for a restart of an unknown plugin, 422 when the configuration was
    /// refused, else 200.
    public var httpStatus: Int { unknownPlugin ? 404 : refused ? 422 : 200 }
}
