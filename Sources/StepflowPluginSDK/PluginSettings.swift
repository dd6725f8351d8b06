/// A setting that is present but cannot be read as the requested type, or a key the plugin does not know.
public struct PluginSettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The setting's key.
    public let key: String
    /// What is wrong and what would be accepted.
    public let message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "setting '\(key)': \(message)" }
}

/// The plugin's `settings:` map from the configuration, as text (the host passes every value as text; YAML lists
/// and maps arrive as JSON).
public struct PluginSettings: Sendable, Hashable {
    /// Every setting, key to text.
    public let values: [String: String]

    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    /// The raw text of `key`, or `nil` when absent.
    public subscript(key: String) -> String? { values[key] }

    /// The text of `key`, or `defaultValue` when absent.
    public func string(_ key: String, default defaultValue: String) -> String {
        values[key] ?? defaultValue
    }

    /// `key` as an integer, or `defaultValue` when absent.
    public func int(_ key: String, default defaultValue: Int) throws(PluginSettingsError) -> Int {
        guard let text = values[key] else { return defaultValue }
        guard let value = Int(Self.trimmed(text)) else {
            throw PluginSettingsError(key: key, message: "'\(text)' is not an integer")
        }
        return value
    }

    /// `key` as a number, or `defaultValue` when absent.
    public func double(_ key: String, default defaultValue: Double) throws(PluginSettingsError) -> Double {
        guard let text = values[key] else { return defaultValue }
        guard let value = Double(Self.trimmed(text)) else {
            throw PluginSettingsError(key: key, message: "'\(text)' is not a number")
        }
        return value
    }

    /// `key` as a boolean (`true/false`, `yes/no`, `on/off`, `1/0`), or `defaultValue` when absent.
    public func bool(_ key: String, default defaultValue: Bool) throws(PluginSettingsError) -> Bool {
        guard let text = values[key] else { return defaultValue }
        switch Self.trimmed(text).lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw PluginSettingsError(key: key, message: "'\(text)' is not a boolean (use true or false)")
        }
    }

    /// `key` as a list: comma-separated text (`"/, /home"`) or a JSON array of strings (`["/", "/home"]`, how a
    /// YAML list arrives); items are trimmed and empty items dropped. `defaultValue` when absent.
    public func list(_ key: String, default defaultValue: [String]) -> [String] {
        guard let text = values[key] else { return defaultValue }
        let trimmed = Self.trimmed(text)
        if trimmed.hasPrefix("["), trimmed.hasSuffix("]"), let items = Self.jsonStringArray(trimmed) {
            return items.map(Self.trimmed).filter { !$0.isEmpty }
        }
        return trimmed.split(separator: ",").map { Self.trimmed(String($0)) }.filter { !$0.isEmpty }
    }

    /// Throws for the first key (in sorted order) not in `known`, naming the keys that are accepted.
    public func rejectUnknownKeys(_ known: Set<String>) throws(PluginSettingsError) {
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw PluginSettingsError(
                key: unknown, message: "unknown setting; this plugin accepts: " + known.sorted().joined(separator: ", "))
        }
    }

    static func trimmed(_ text: String) -> String {
        var scalars = Substring(text)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }

    /// Parses `["a", "b", 3]` (strings with JSON escapes, or bare scalars); `nil` when it is not such an array.
    static func jsonStringArray(_ text: String) -> [String]? {
        var items: [String] = []
        var iterator = Array(text.unicodeScalars).makeIterator()
        guard iterator.next() == "[" else { return nil }
        var current = ""
        var inString = false
        var sawItem = false
        while let scalar = iterator.next() {
            if inString {
                switch scalar {
                case "\"":
                    inString = false
                case "\\":
                    guard let escaped = iterator.next() else { return nil }
                    switch escaped {
                    case "n": current.unicodeScalars.append("\n")
                    case "t": current.unicodeScalars.append("\t")
                    case "r": current.unicodeScalars.append("\r")
                    case "u":
                        var hex = ""
                        for _ in 0..<4 { guard let digit = iterator.next() else { return nil }; hex.unicodeScalars.append(digit) }
                        guard let code = UInt32(hex, radix: 16), let decoded = Unicode.Scalar(code) else { return nil }
                        current.unicodeScalars.append(decoded)
                    default: current.unicodeScalars.append(escaped)
                    }
                default:
                    current.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                inString = true
                sawItem = true
            case ",", "]":
                if sawItem { items.append(current) }
                current = ""
                sawItem = false
                if scalar == "]" { return iterator.next() == nil ? items : nil }
            case " ", "\t", "\n", "\r":
                continue
            default:
                current.unicodeScalars.append(scalar)
                sawItem = true
            }
        }
        return nil
    }
}
