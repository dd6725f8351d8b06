import Hummingbird

/// Refuses `/api/` requests that do not carry `Authorization: Bearer <token>` with a 401 (and
/// `WWW-Authenticate: Bearer`), when `http.auth_token` is set. `/metrics` and `/health…` stay open, as
/// Prometheus scrapes and orchestrator probes expect.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The configured token's bytes.
    let token: [UInt8]

    init(token: String) {
        self.token = Array(token.utf8)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/api/") else { return try await next(request, context) }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.constantTimeEqual(Array(header.utf8.dropFirst("Bearer ".utf8.count)), token)
        {
            return try await next(request, context)
        }
        let reason = request.headers[.authorization] == nil
            ? "this host requires a token (http.auth_token): send Authorization: Bearer <token>"
            : "the token in the Authorization header is not this host's http.auth_token"
        return Response(
            status: .unauthorized,
            headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"\#(reason)"}"#)))
    }

    /// Compares without stopping at the first difference, so the time taken does not reveal how much matched.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
