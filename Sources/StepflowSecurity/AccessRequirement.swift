import StepflowCore

/// What a route needs from its caller; declared next to each route (docs/security.md lists them all).
public enum AccessRequirement: Sendable, Hashable, CustomStringConvertible {
    /// Open while `security.public_endpoints` names the group; otherwise the `read` role.
    case publicEndpoint(SecurityConfig.PublicEndpoint)
    /// A token whose role is this one or higher.
    case role(AccessRole)

    public var description: String {
        switch self {
        case .publicEndpoint(let group): "public (\(group.rawValue)) or read"
        case .role(let role): role.rawValue
        }
    }
}

/// The answer to one request's credentials against a route's requirement.
public enum AccessDecision: Sendable, Equatable {
    /// Served: by this principal, or anonymously (an open endpoint, or a host with no tokens configured).
    case allowed(Principal?)
    /// 401: no credential, or one the host does not know; `reason` says which.
    case unauthorized(reason: String)
    /// 403: a known principal whose role is below `needed`.
    case forbidden(principal: Principal, needed: AccessRole)
}
