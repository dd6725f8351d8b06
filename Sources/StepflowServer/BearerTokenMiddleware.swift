import Foundation
import Hummingbird

/// Refuses `/api/` requests that do not carry `Authorization: Bearer <token>` with a 401 (and
/// `WWW-Authenticate: Bearer`), when `http.auth_token` is set. `/dashboard` takes the same token, or HTTP Basic
/// with the token as the password, so that a browser can ask for it. `/metrics` and `/health…` stay open, as
/// Prometheus scrapes and orchestrator probes expect.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The configured token's bytes.
    let token: [UInt8]

    init(token: String) {
        self.token = Array(token.utf8)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The router ignores empty segments (`//api/v1/rules` reaches `/api/v1/rules`), so decide on segments too.
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        let dashboard = segments == ["dashboard"]
        guard segments.first == "api" || dashboard else { return try await next(request, context) }
        let header = request.headers[.authorization]
        if let header, let presented = Self.presentedToken(header, allowBasic: dashboard),
            Self.constantTimeEqual(presented, token)
        {
            return try await next(request, context)
        }
        let reason = header == nil
            ? "this host requires a token (http.auth_token): send Authorization: Bearer <token>"
            : "the token in the Authorization header is not this host's http.auth_token"
        return Response(
            status: .unauthorized,
            headers: [
                .contentType: "application/json",
                .wwwAuthenticate: dashboard ? #"Basic realm="stepflow-monitor", charset="UTF-8""# : "Bearer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: MetricJSON.error(reason))))
    }

    /// The token an `Authorization` header presents: a Bearer token, or (when allowed) a Basic password.
    static func presentedToken(_ header: String, allowBasic: Bool) -> [UInt8]? {
        // The scheme is case-insensitive (RFC 9110, section 11.1).
        let scheme = header.prefix { $0 != " " }.lowercased()
        let credentials = header.drop { $0 != " " }.dropFirst()
        if scheme == "bearer" { return Array(credentials.utf8) }
        guard allowBasic, scheme == "basic",
            let decoded = Data(base64Encoded: String(credentials)),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        return Array(decoded[decoded.index(after: colon)...])
    }

    /// Compares without stopping at the first difference, so the time taken does not reveal how much matched
    /// (the length is not secret).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
