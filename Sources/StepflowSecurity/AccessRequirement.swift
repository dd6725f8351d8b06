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
    /// 401: no credential, or one the host does not know; `reason` says which, for the caller; `failure` for
    /// counting.
    case unauthorized(reason: String, failure: AuthenticationFailure)
    /// 403: a known principal whose role is below `needed`.
    case forbidden(principal: Principal, needed: AccessRole)
}

/// Why a request's credentials were not accepted (the `reason` label of `stepflow_http_auth_failures_total`).
public enum AuthenticationFailure: String, Sendable, CaseIterable {
    /// No `Authorization` header.
    case missing
    /// A header that is not `Bearer <token>` (or Basic, where allowed), or more than one.
    case malformed
    /// A well-formed token the host does not know.
    case unknown
    /// A known token whose role is too low (403).
    case forbidden
    /// The client address is locked out after repeated failures (429).
    case lockedOut = "locked_out"
}
