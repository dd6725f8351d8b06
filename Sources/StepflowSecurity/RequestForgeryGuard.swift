import Crypto

/// The dashboard's defence against cross-site request forgery (docs/security.md, "Dashboard actions").
///
/// A browser sends HTTP Basic credentials with every request to the host, including a form another site makes it
/// post. So each dashboard form carries a token that only the host can compute: HMAC-SHA256, under a key drawn when
/// the host starts, of the principal's name. A post whose token is missing or is not the one for the principal
/// that sent it is refused before it acts. The key never leaves the process; a restart makes the old tokens void
/// (a page reloaded after it works again).
public struct RequestForgeryGuard: Sendable {
    private let key: SymmetricKey

    /// - Parameter key: the HMAC key; a fresh random 256-bit key by default.
    public init(key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.key = key
    }

    /// The token the forms of `principal`'s pages carry (64 hex digits).
    public func token(for principal: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array("stepflow-dashboard-form:\(principal)".utf8), using: key)
        return TokenDigest.hex(bytes: Array(code))
    }

    /// Whether `token` is `principal`'s, compared in constant time.
    public func accepts(_ token: String?, for principal: String) -> Bool {
        guard let token, let bytes = TokenDigest.bytes(hex: token) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            bytes, authenticating: Array("stepflow-dashboard-form:\(principal)".utf8), using: key)
    }
}
