import StepflowPluginSDK

/// Builds one JSON object on one line, member by member, escaping strings as RFC 8259 requires.
struct JSONLine {
    private var text = "{"

    /// A string member.
    mutating func add(_ name: String, _ value: String) {
        member(name)
        Self.appendString(value, to: &text)
    }

    /// A number member; `null` when not finite (JSON has no NaN or infinity).
    mutating func add(_ name: String, number value: Double) {
        member(name)
        text += value.isFinite ? "\(value)" : "null"
    }

    /// An integer member; `null` for `nil`.
    mutating func add(_ name: String, integer value: Int64?) {
        member(name)
        text += value.map { "\($0)" } ?? "null"
    }

    /// An object member of string pairs, in order.
    mutating func add(_ name: String, pairs: [PluginLabel]) {
        member(name)
        text += "{"
        for (index, pair) in pairs.enumerated() {
            if index > 0 { text += "," }
            Self.appendString(pair.name, to: &text)
            text += ":"
            Self.appendString(pair.value, to: &text)
        }
        text += "}"
    }

    /// The object, closed, with its trailing newline.
    func finished() -> String { text + "}\n" }

    private mutating func member(_ name: String) {
        if text != "{" { text += "," }
        Self.appendString(name, to: &text)
        text += ":"
    }

    private static func appendString(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
