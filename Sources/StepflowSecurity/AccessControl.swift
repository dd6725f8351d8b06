import Foundation
import StepflowCore

/// The host's bearer tokens, by digest, and the decision for each request (docs/security.md).
///
/// Built once from `security.tokens` and `http.auth_token` (an admin token named `admin`); token files and
/// environment variables are read then, and only the SHA-256 digests are kept. A presented token is hashed and
/// compared with every known digest in constant time, so neither the time taken nor the order of the list tells
/// an attacker anything. With no token configured the host is open, as before roles existed.
public struct AccessControl: Sendable {
    private struct Entry: Sendable {
        var principal: Principal
        var digest: [UInt8]
    }

    private let entries: [Entry]
    /// `security.client_certificate_roles`: a verified client certificate's common name → its role.
    private let certificateRoles: [String: AccessRole]
    /// The endpoint groups served without a token.
    public let publicEndpoints: Set<SecurityConfig.PublicEndpoint>

    /// The longest token file read (a token is a line of text, not a document).
    public static let maximumTokenFileSize = 4096
    /// The longest token accepted in a header: longer ones are refused without hashing.
    public static let maximumTokenLength = 4096

    /// - Parameters:
    ///   - security: `security:`.
    ///   - authToken: `http.auth_token` (empty: none).
    ///   - environment: where `token_env` variables are looked up.
    /// - Throws: ``AccessControlError`` naming the token whose file or variable cannot be read.
    public init(
        security: SecurityConfig, authToken: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(AccessControlError) {
        var entries: [Entry] = []
        if !authToken.isEmpty {
            entries.append(Entry(principal: Principal(name: "admin", role: .admin), digest: TokenDigest.digest(authToken.utf8)))
        }
        for token in security.tokens {
            entries.append(Entry(
                principal: Principal(name: token.name, role: token.role),
                digest: try Self.digest(of: token, environment: environment)))
        }
        self.entries = entries
        self.certificateRoles = security.clientCertificateRoleMap ?? [:]
        self.publicEndpoints = security.publicEndpointSet
    }

    /// Whether any token or client certificate role is configured; without one every route is open.
    public var isEnabled: Bool { !entries.isEmpty || !certificateRoles.isEmpty }

    /// Whether a client certificate can stand for a principal (`security.client_certificate_roles` is set).
    public var acceptsClientCertificates: Bool { !certificateRoles.isEmpty }

    /// The principals configured, for reports (never their tokens).
    public var principals: [Principal] { entries.map(\.principal) }

    /// The decision for a request carrying `authorization` (its `Authorization` header, if any) on a route that
    /// needs `requirement`. `allowBasic` accepts the token as the password of HTTP Basic (the dashboard, so that a
    /// browser can ask for it). `certificateName` is the common name of the client's verified certificate (mutual
    /// TLS); it stands for a principal when the request carries no `Authorization` header.
    public func decide(
        _ requirement: AccessRequirement, authorization: String?, allowBasic: Bool = false, certificateName: String? = nil
    ) -> AccessDecision {
        guard isEnabled else { return .allowed(nil) }
        let needed: AccessRole
        switch requirement {
        case .publicEndpoint(let group):
            if publicEndpoints.contains(group) { return .allowed(nil) }
            needed = .read
        case .role(let role):
            needed = role
        }
        if authorization == nil, let certificateName {
            guard let role = certificateRoles[certificateName] else {
                return .unauthorized(
                    reason: "the client certificate's common name '\(certificateName.prefix(64))' has no role in security.client_certificate_roles; add it there or send a token",
                    failure: .unknown)
            }
            let principal = Principal(name: certificateName, role: role)
            guard role >= needed else { return .forbidden(principal: principal, needed: needed) }
            return .allowed(principal)
        }
        guard let authorization else {
            return .unauthorized(
                reason: "this route needs a token with the \(needed.rawValue) role: send Authorization: Bearer <token>",
                failure: .missing)
        }
        guard let presented = Self.presentedToken(authorization, allowBasic: allowBasic) else {
            return .unauthorized(
                reason: allowBasic
                    ? "the Authorization header is neither 'Bearer <token>' nor Basic with the token as password"
                    : "the Authorization header is not 'Bearer <token>'",
                failure: .malformed)
        }
        guard let principal = principal(presenting: presented) else {
            return .unauthorized(reason: "the token in the Authorization header is not one this host knows", failure: .unknown)
        }
        guard principal.role >= needed else { return .forbidden(principal: principal, needed: needed) }
        return .allowed(principal)
    }

    /// The principal whose token is `token`, comparing with every digest (no early exit).
    public func principal(presenting token: some Collection<UInt8>) -> Principal? {
        guard token.count <= Self.maximumTokenLength, !token.isEmpty else { return nil }
        let digest = TokenDigest.digest(token)
        var match: Principal?
        for entry in entries where TokenDigest.constantTimeEqual(entry.digest, digest) && match == nil {
            match = entry.principal
        }
        return match
    }

    /// The token an `Authorization` header presents: a Bearer token, or (when allowed) a Basic password.
    static func presentedToken(_ header: String, allowBasic: Bool) -> [UInt8]? {
        // The scheme is case-insensitive (RFC 9110, section 11.1).
        let scheme = header.prefix { $0 != " " }.lowercased()
        let credentials = header.drop { $0 != " " }.drop { $0 == " " }
        if scheme == "bearer" { return credentials.isEmpty ? nil : Array(credentials.utf8) }
        guard allowBasic, scheme == "basic", credentials.utf8.count <= 2 * maximumTokenLength,
            let decoded = Data(base64Encoded: String(credentials)),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        return Array(decoded[decoded.index(after: colon)...])
    }

    private static func digest(
        of token: AccessTokenConfig, environment: [String: String]
    ) throws(AccessControlError) -> [UInt8] {
        switch token.secret {
        case .sha256(let hex):
            guard let bytes = TokenDigest.bytes(hex: hex) else {
                throw AccessControlError(token: token.name, "token_sha256 is not 64 hex digits")
            }
            return bytes
        case .environment(let variable):
            guard let value = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                throw AccessControlError(token: token.name, "token_env names \(variable), which is not set or empty")
            }
            return TokenDigest.digest(value.utf8)
        case .file(let path):
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw AccessControlError(token: token.name, "token_file \(path) cannot be opened for reading")
            }
            defer { try? handle.close() }
            let data = (try? handle.read(upToCount: maximumTokenFileSize + 1)) ?? Data()
            guard data.count <= maximumTokenFileSize else {
                throw AccessControlError(token: token.name, "token_file \(path) is larger than \(maximumTokenFileSize) bytes; it should hold one token")
            }
            guard let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
                !text.isEmpty
            else {
                throw AccessControlError(token: token.name, "token_file \(path) is empty or not UTF-8 text")
            }
            return TokenDigest.digest(text.utf8)
        }
    }
}

/// A token whose value cannot be read when the host starts.
public struct AccessControlError: Error, Sendable, CustomStringConvertible {
    public var token: String
    public var message: String

    init(token: String, _ message: String) {
        self.token = token
        self.message = message
    }

    public var description: String { "security.tokens '\(token)': \(message)" }
}
