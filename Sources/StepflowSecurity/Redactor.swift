import Foundation
import StepflowCore

/// Removes secrets from what the host stores, sends and prints (docs/security.md, "Secrets"): applied before a log
/// entry, a span, or a plugin's settings is stored or shown, and to the host's own log lines.
///
/// - A field (log context, span attribute, plugin setting; at any depth of a JSON value) whose key contains one of
///   ``keys`` (case-insensitive) has its value replaced by ``mask``.
/// - In free text (a log message, a string value): the word after `Bearer` or `Basic`; the value in `key=value`,
///   `key: value` or `"key": "value"` when the key is a secret one; and every whitespace-separated word that
///   `values` (RE2, matched against the whole word) matches.
public struct Redactor: Sendable, Hashable {
    /// What a secret is replaced with.
    public static let mask = "[REDACTED]"
    /// The default `security.redact_keys`.
    public static let defaultKeys = [
        "password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "cookie", "set-cookie",
        "private_key",
    ]

    /// Lower-case key fragments that make a field secret.
    public let keys: [String]
    /// Words that are secrets whatever their key (`security.redact_values`).
    public let values: AnchoredRegex?

    public init(keys: [String] = Redactor.defaultKeys, values: AnchoredRegex? = nil) {
        self.keys = keys.map { $0.lowercased() }.filter { !$0.isEmpty }
        self.values = values
    }

    /// From `security.redact_keys` (comma-separated) and `security.redact_values` (one RE2 pattern, or empty).
    public init(security: SecurityConfig) throws(MonitoringError) {
        let keys = security.redactKeys.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = security.redactValues.isEmpty
            ? nil : try AnchoredRegex(security.redactValues, what: "security.redact_values")
        self.init(keys: keys, values: values)
    }

    /// Whether a field named `key` holds a secret.
    public func isSecret(key: String) -> Bool {
        let lowered = key.lowercased()
        return keys.contains { lowered.contains($0) }
    }

    /// `fields` with secret keys masked and secrets in string values removed, at every depth.
    public func redact(fields: [String: JSONValue]) -> [String: JSONValue] {
        var out = fields
        for (key, value) in fields { out[key] = isSecret(key: key) ? .string(Self.mask) : redact(value) }
        return out
    }

    /// `value` with secrets removed from its strings and the members of its objects.
    public func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): return .string(redact(text))
        case .array(let items): return .array(items.map(redact))
        case .object(let members): return .object(redact(fields: members))
        default: return value
        }
    }

    /// `text` with its secrets masked (see the type's description); whitespace is kept as it was.
    public func redact(_ text: String) -> String {
        // Fast path: most log lines hold nothing to look at.
        let lowered = text.lowercased()
        guard values != nil || lowered.contains("bearer") || lowered.contains("basic")
            || keys.contains(where: { lowered.contains($0) })
        else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var maskNext = false
        var index = text.startIndex
        while index < text.endIndex {
            if text[index].isWhitespace {
                out.append(text[index])
                index = text.index(after: index)
                continue
            }
            let end = text[index...].firstIndex(where: \.isWhitespace) ?? text.endIndex
            let word = text[index..<end]
            out += redact(word: word, maskWhole: &maskNext)
            index = end
        }
        return out
    }

    /// One whitespace-separated word; `maskWhole` carries "the previous word asked for this one to be masked".
    private func redact(word: Substring, maskWhole: inout Bool) -> String {
        let bare = word.trimmingCharacters(in: CharacterSet.punctuationCharacters.subtracting(["_", "-"])).lowercased()
        if maskWhole {
            // `Authorization: Bearer abc`: the scheme is masked and so is the credential after it.
            maskWhole = bare == "bearer" || bare == "basic"
            return Self.mask
        }
        if bare == "bearer" || bare == "basic" {
            maskWhole = true
            return String(word)
        }
        if let values, values.matches(String(word)) { return Self.mask }
        // key=value pairs, also several in one word (`?a=1&password=x`, `{"token":"x","n":1}`): each segment
        // between & ? , ; { } is looked at on its own.
        var result = ""
        var start = word.startIndex
        for index in word.indices where "&?,;{}".contains(word[index]) {
            result += redact(pair: word[start..<index], maskNext: &maskWhole)
            result.append(word[index])
            start = word.index(after: index)
        }
        return result + redact(pair: word[start...], maskNext: &maskWhole)
    }

    /// `key=value`, `key:value` or `"key":"value"` with the value masked when the key is a secret one; a secret key
    /// with nothing after its separator (`password: hunter2` split by a space) masks the next word.
    private func redact(pair: Substring, maskNext: inout Bool) -> String {
        guard let separator = pair.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return String(pair) }
        let key = pair[..<separator].trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
        guard isSecret(key: key) else { return String(pair) }
        let rest = pair[pair.index(after: separator)...]
        if rest.isEmpty || rest == "\"" {
            maskNext = true
            return String(pair)
        }
        return String(pair[...separator]) + Self.mask
    }
}
