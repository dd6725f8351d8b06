import Foundation

/// What a principal may do over HTTP (YAML `security.tokens[].role`); each role includes the ones before it
/// (docs/security.md).
public enum AccessRole: String, Sendable, Hashable, CaseIterable, Comparable {
    /// GET APIs and the dashboard.
    case read
    /// Besides reading: ingest (metrics, logs, spans and every other ingest protocol), acknowledging and resolving
    /// alerts, silences.
    case write
    /// Everything: rules, configuration reload, plugin restarts.
    case admin

    private var rank: Int {
        switch self {
        case .read: 0
        case .write: 1
        case .admin: 2
        }
    }

    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool { lhs.rank < rhs.rank }
}

/// One bearer token: a named principal with a role (YAML `security.tokens[]`).
public struct AccessTokenConfig: Sendable, Hashable {
    /// Where the token's value comes from. Only its SHA-256 digest is kept in memory once the host has started.
    public enum Secret: Sendable, Hashable {
        /// `token_sha256`: the lower-case hex SHA-256 digest of the token (`printf %s TOKEN | sha256sum`).
        case sha256(String)
        /// `token_file`: a file holding the token (surrounding whitespace ignored).
        case file(String)
        /// `token_env`: an environment variable holding the token.
        case environment(String)
    }

    /// `name`: who the token belongs to; it names the principal in the audit trail and in metrics.
    public var name: String
    /// `role`: what the token allows.
    public var role: AccessRole
    /// `token_sha256`, `token_file` or `token_env` (exactly one).
    public var secret: Secret

    public init(name: String, role: AccessRole, secret: Secret) {
        self.name = name
        self.role = role
        self.secret = secret
    }
}

/// Access control over HTTP (YAML `security:`; docs/security.md).
public struct SecurityConfig: Sendable, Hashable {
    /// The endpoint groups `public_endpoints` can leave open without a token.
    public enum PublicEndpoint: String, Sendable, Hashable, CaseIterable {
        /// `GET /metrics`.
        case metrics
        /// `GET /health` and `/health/…`.
        case health
    }

    /// `tokens`, default none: the bearer tokens the host accepts, each a principal with a role. With none, and no
    /// `http.auth_token`, the API is open (bind it to 127.0.0.1 only).
    public var tokens: [AccessTokenConfig] = []
    /// `public_endpoints`, env `STEPFLOW_MONITORING_SECURITY_PUBLIC_ENDPOINTS`, default `metrics,health`:
    /// comma-separated groups that need no token once tokens are configured; empty closes them too (Prometheus
    /// then scrapes with `authorization: {credentials: …}`).
    public var publicEndpoints: String = "metrics,health"
    /// `client_certificate_roles`, default empty: comma-separated `common-name:role` pairs
    /// (`prometheus:read, deployer:admin`). With `http.tls.client_ca`, a client whose verified certificate has one
    /// of these common names is that principal, with that role, without a token.
    public var clientCertificateRoles: String = ""
    /// `verify_plugin_files`, default true: before a plugin library is loaded, the library and every directory above
    /// it must be writable by no one but their owner and owned by root or one of `plugin_owners`.
    public var verifyPluginFiles: Bool = true
    /// `plugin_owners`, default empty (the host's own user): comma-separated user names or ids allowed to own
    /// plugin libraries and their directories, besides root.
    public var pluginOwners: String = ""
    /// `rate_limit`, default 200: requests per second each principal (or client address, when anonymous) may make
    /// to write routes after its burst; past it, 429 with `Retry-After`. 0 turns it off.
    public var rateLimit: Double = 200
    /// `rate_limit_burst`, default 400: write requests a principal may make at once.
    public var rateLimitBurst: Int = 400
    /// `auth_failure_limit`, default 10: authentication failures from one address within a minute after which
    /// that address is refused (429) for `auth_lockout`. 0 turns it off.
    public var authFailureLimit: Int = 10
    /// `auth_lockout`, default 60s.
    public var authLockout: Duration = .seconds(60)
    /// `file_mode`, default `0600`: the permissions of the files `stepflow-monitor run` creates (the database, its
    /// WAL and lock, exported and rotated log files), applied as the process umask at start.
    public var fileMode: String = "0600"
    /// `redact_keys`: comma-separated key fragments (case-insensitive) whose values are replaced by `[REDACTED]`
    /// in log fields, span attributes and plugin settings shown, and in `key=value` text.
    public var redactKeys: String = "password,passwd,secret,token,api_key,apikey,authorization,cookie,set-cookie,private_key"
    /// `redact_values`, default empty: an RE2 pattern; every whitespace-separated word of a log message or string
    /// value that it matches whole is replaced by `[REDACTED]` (the word after `Bearer` or `Basic` always is).
    public var redactValues: String = ""

    /// `fileMode` as permission bits, when it is 3 or 4 octal digits.
    public var fileModeBits: UInt32? {
        guard (3...4).contains(fileMode.count), let bits = UInt32(fileMode, radix: 8), bits <= 0o777 else { return nil }
        return bits
    }

    public init() {}
    public static let `default` = SecurityConfig()

    /// `publicEndpoints` parsed; unknown names (refused by the configuration loader) are ignored.
    public var publicEndpointSet: Set<PublicEndpoint> {
        Set(publicEndpoints.split(separator: ",").compactMap {
            PublicEndpoint(rawValue: $0.trimmingCharacters(in: .whitespaces))
        })
    }

    /// ``clientCertificateRoles`` parsed: common name → role. `nil` when an item is not `name:role` with a known
    /// role (the loader refuses such a value, naming the item).
    public var clientCertificateRoleMap: [String: AccessRole]? {
        var roles: [String: AccessRole] = [:]
        for item in clientCertificateRoles.split(separator: ",") {
            let pair = item.trimmingCharacters(in: .whitespaces)
            guard let colon = pair.lastIndex(of: ":") else { return nil }
            let name = pair[..<colon].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, let role = AccessRole(rawValue: pair[pair.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            else { return nil }
            roles[name] = role
        }
        return roles
    }
}
