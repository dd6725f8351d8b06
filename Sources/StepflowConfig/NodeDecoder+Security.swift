import StepflowCore
import StepflowSecurity
import Yams

/// `security.tokens`: each item a principal with a role and exactly one source for its token (docs/security.md).
extension NodeDecoder {
    /// The longest token name: it appears in metrics labels and the audit trail.
    static let maximumTokenNameLength = 64

    mutating func decodeTokens(_ node: Node, keyPath: String) -> [AccessTokenConfig] {
        decodeNamedList(node, keyPath: keyPath, what: "tokens", kind: "token", name: \.name) { decoder, item, itemPath in
            decoder.decodeToken(item, keyPath: itemPath).map { ($0.0, $0.1) }
        }
    }

    private mutating func decodeToken(_ node: Node, keyPath itemPath: String) -> (AccessTokenConfig, Node)? {
        guard let pairs = mappingPairs(node, keyPath: itemPath, emptyIsFine: false) else { return nil }
        var name: (String, Node)?
        var role: AccessRole?
        var secrets: [(key: String, secret: AccessTokenConfig.Secret)] = []
        var valid = true
        guard let entries = knownEntries(pairs, keyPath: itemPath, validKeys: ConfigurationSchema.tokenKeys, valid: &valid)
        else { return nil }
        for entry in entries {
            let (key, keyPath, valueNode) = (entry.key, entry.path, entry.value)
            guard case .text(let text)? = scalarValue(valueNode, as: .text, keyPath: keyPath) else {
                valid = false
                continue
            }
            let trimmed = text.trimmingWhitespace()
            switch key {
            case "name":
                if trimmed.isEmpty || trimmed.count > Self.maximumTokenNameLength
                    || !trimmed.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || "0123456789-_.@".unicodeScalars.contains($0)) })
                {
                    report(valueNode, keyPath: keyPath,
                           "must be 1 to \(Self.maximumTokenNameLength) letters, digits, '-', '_', '.' or '@', found '\(text.prefix(80))'")
                    valid = false
                } else {
                    name = (trimmed, valueNode)
                }
            case "role":
                guard let parsed = AccessRole(rawValue: trimmed) else {
                    let choices = AccessRole.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                    report(valueNode, keyPath: keyPath, "expected \(choices), found '\(text.prefix(80))'")
                    valid = false
                    continue
                }
                role = parsed
            case "token_sha256":
                // Accept the form check-config prints, `sha256:<hex>`.
                let hex = trimmed.hasPrefix("sha256:") ? String(trimmed.dropFirst(7)) : trimmed
                guard TokenDigest.bytes(hex: hex) != nil else {
                    report(valueNode, keyPath: keyPath,
                           "expected the token's SHA-256 digest, 64 hex digits (printf %s TOKEN | sha256sum)")
                    valid = false
                    continue
                }
                secrets.append((key, .sha256(hex.lowercased())))
            case "token_file":
                guard !trimmed.isEmpty else {
                    report(valueNode, keyPath: keyPath, "must not be empty; name a file holding the token")
                    valid = false
                    continue
                }
                secrets.append((key, .file(text)))
            default:
                guard !trimmed.isEmpty else {
                    report(valueNode, keyPath: keyPath, "must not be empty; name an environment variable holding the token")
                    valid = false
                    continue
                }
                secrets.append((key, .environment(trimmed)))
            }
        }
        guard valid else { return nil }
        guard let (tokenName, nameNode) = name else {
            report(node, keyPath: itemPath, "has no name; every token needs one (it names the principal)")
            return nil
        }
        guard let role else {
            report(node, keyPath: itemPath, "has no role; write role: read, write or admin")
            return nil
        }
        guard secrets.count == 1, let secret = secrets.first?.secret else {
            report(node, keyPath: itemPath, secrets.isEmpty
                ? "has no token; write one of token_sha256, token_file or token_env"
                : "has \(secrets.map(\.key).joined(separator: " and ")); write exactly one of them")
            return nil
        }
        return (AccessTokenConfig(name: tokenName, role: role, secret: secret), nameNode)
    }
}
