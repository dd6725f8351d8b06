import StepflowCore

/// Who made a request: the `name` of the token it presented, and that token's role.
public struct Principal: Sendable, Hashable, CustomStringConvertible {
    /// The token's `name` (`http.auth_token` is the principal `admin`).
    public var name: String
    public var role: AccessRole

    public init(name: String, role: AccessRole) {
        self.name = name
        self.role = role
    }

    public var description: String { "\(name) (\(role.rawValue))" }
}
