/// Why a plugin could not be loaded, created or called.
///
/// A struct with a matchable ``Code`` rather than an enum, so that codes can be added without breaking callers
/// (the pattern of `MonitoringError`). It always names the plugin (when known) and the library path, carries the
/// precise reason in ``message`` and tells the user what to do in ``hint``.
public struct PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members, e.g. `error.code == .timedOut`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case notFound = "plugin file not found"
            case openFailed = "plugin library could not be opened"
            case missingSymbol = "plugin entry symbol missing"
            case registerFailed = "plugin refused to register"
            case abiMismatch = "plugin ABI version not supported"
            case descriptorTooSmall = "plugin descriptor too small"
            case invalidDescriptor = "plugin descriptor invalid"
            case createFailed = "plugin instance could not be created"
            case callFailed = "plugin call failed"
            case timedOut = "plugin call timed out"
            case busy = "plugin busy"
            case unsupported = "plugin call not supported"
            case crashed = "plugin runner crashed"
            case outOfMemory = "plugin out of memory"
            case untrustedFile = "plugin file not trusted"
            case digestMismatch = "plugin digest mismatch"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        public var description: String { value.rawValue }

        /// The code as a metric label value: `not_found`, `open_failed`, `abi_mismatch`, …
        public var identifier: String {
            String(describing: value).reduce(into: "") { text, character in
                if character.isUppercase { text += "_" + character.lowercased() } else { text.append(character) }
            }
        }

        /// The library file does not exist.
        public static let notFound = Code(.notFound)
        /// `dlopen` failed: not a shared library, wrong architecture, or an unresolved dependency or symbol.
        public static let openFailed = Code(.openFailed)
        /// The library does not export `stepflow_plugin_register`.
        public static let missingSymbol = Code(.missingSymbol)
        /// The entry function returned NULL: the plugin refused this host.
        public static let registerFailed = Code(.registerFailed)
        /// The descriptor's `abi_version` is not one this host speaks.
        public static let abiMismatch = Code(.abiMismatch)
        /// The descriptor's `struct_size` is smaller than the first published descriptor.
        public static let descriptorTooSmall = Code(.descriptorTooSmall)
        /// The descriptor lacks a name or a function pointer its capabilities require.
        public static let invalidDescriptor = Code(.invalidDescriptor)
        /// The plugin's `create` returned an error.
        public static let createFailed = Code(.createFailed)
        /// A call on an instance returned an error, or returned malformed data.
        public static let callFailed = Code(.callFailed)
        /// The awaiting task was cancelled (at its deadline) before the call returned; the call keeps running.
        public static let timedOut = Code(.timedOut)
        /// A previous call has not returned yet, so the instance cannot be called.
        public static let busy = Code(.busy)
        /// The plugin does not implement this call, or the instance has been shut down.
        public static let unsupported = Code(.unsupported)
        /// The `plugin-runner` child process of a `process`-isolated plugin died (signal or exit) during a call,
        /// or is waiting out its restart backoff.
        public static let crashed = Code(.crashed)
        /// A call returned `STEPFLOW_ERR_NOMEM`: an allocation failed in the plugin. A `process`-isolated plugin's
        /// runner is then restarted with backoff.
        public static let outOfMemory = Code(.outOfMemory)

        /// The library, or a directory above it, is writable by other users or owned by a user not trusted
        /// (`security.verify_plugin_files`): it was not loaded.
        public static let untrustedFile = Code(.untrustedFile)
        /// The library's SHA-256 digest is not the `sha256` pinned in its `plugins:` entry: it was not loaded.
        public static let digestMismatch = Code(.digestMismatch)

        /// Every code, e.g. to map a code's ``description`` back to the code.
        public static let all: [Code] = [
            .notFound, .openFailed, .missingSymbol, .registerFailed, .abiMismatch, .descriptorTooSmall,
            .invalidDescriptor, .createFailed, .callFailed, .timedOut, .busy, .unsupported, .crashed, .outOfMemory,
            .untrustedFile, .digestMismatch,
        ]
    }

    /// The kind of failure.
    public let code: Code
    /// The plugin's (instance) name when known, `nil` when the library could not be read far enough to know it.
    public let plugin: String?
    /// The shared library, as the user gave it.
    public let path: String
    /// What went wrong, precisely: dlerror() text, the plugin's own error message, the versions involved.
    public let message: String
    /// What the user can do about it.
    public let hint: String?

    /// Creates an error; prefer the static constructors of ``Code`` at call sites for consistency.
    public init(_ code: Code, plugin: String?, path: String, message: String, hint: String? = nil) {
        self.code = code
        self.plugin = plugin
        self.path = path
        self.message = message
        self.hint = hint
    }

    /// One line: code, plugin, path, message and hint.
    public var description: String {
        var text = "\(code)"
        if let plugin { text += " (plugin '\(plugin)', \(path))" } else { text += " (\(path))" }
        text += ": \(message)"
        if let hint { text += ". Hint: \(hint)" }
        return text
    }
}
