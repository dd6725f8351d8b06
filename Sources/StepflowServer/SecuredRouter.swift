import Hummingbird
import NIOCore
import StepflowCore
import StepflowSecurity

/// One route and what it needs from its caller.
public struct RouteAccess: Sendable, Hashable, CustomStringConvertible {
    public var method: HTTPRequest.Method
    /// The path as registered (`/api/v1/rules/{id}`).
    public var path: String
    public var requirement: AccessRequirement

    public var description: String { "\(method) \(path): \(requirement)" }
}

/// The only way routes are added to the host's router: each registration declares what the route needs
/// (docs/security.md), the check runs before the handler, and the declarations are kept so that a test can prove
/// every route of the router has one.
///
/// - no credential, or an unknown one: 401 with `WWW-Authenticate` and a JSON body naming the role needed;
/// - a known principal whose role is too low: 403, naming the principal's role and the one needed;
/// - more than one `Authorization` header: 401 (which one to believe is ambiguous, so neither is).
public final class SecuredRouter {
    public typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    let router: Router<BasicRequestContext>
    private let access: AccessControl
    private var declared: [RouteAccess] = []

    init(router: Router<BasicRequestContext>, access: AccessControl) {
        self.router = router
        self.access = access
    }

    /// Every route registered, with what it needs, in registration order.
    public var routes: [RouteAccess] { declared }

    /// The Hummingbird router the routes are on.
    public var hummingbirdRouter: Router<BasicRequestContext> { router }

    func get(_ path: String, needs requirement: AccessRequirement, browser: Bool = false, use handler: @escaping Handler) {
        on(.get, path, needs: requirement, browser: browser, use: handler)
    }

    func post(_ path: String, needs requirement: AccessRequirement, use handler: @escaping Handler) {
        on(.post, path, needs: requirement, browser: false, use: handler)
    }

    func put(_ path: String, needs requirement: AccessRequirement, use handler: @escaping Handler) {
        on(.put, path, needs: requirement, browser: false, use: handler)
    }

    func delete(_ path: String, needs requirement: AccessRequirement, use handler: @escaping Handler) {
        on(.delete, path, needs: requirement, browser: false, use: handler)
    }

    /// - Parameter browser: a page a browser opens: the token is also taken as the password of HTTP Basic, and a
    ///   401 asks for it with a Basic challenge.
    private func on(
        _ method: HTTPRequest.Method, _ path: String, needs requirement: AccessRequirement, browser: Bool,
        use handler: @escaping Handler
    ) {
        declared.append(RouteAccess(method: method, path: path, requirement: requirement))
        let access = self.access
        router.on(RouterPath(path), method: method) { request, context -> Response in
            let headers = request.headers[values: .authorization]
            let decision = headers.count > 1
                ? .unauthorized(reason: "the request has \(headers.count) Authorization headers; send exactly one")
                : access.decide(requirement, authorization: headers.first, allowBasic: browser)
            switch decision {
            case .allowed:
                return try await handler(request, context)
            case .unauthorized(let reason):
                return Self.refusal(
                    .unauthorized, reason, needed: Self.role(requirement),
                    challenge: browser ? #"Basic realm="stepflow-monitor", charset="UTF-8""# : "Bearer")
            case .forbidden(let principal, let needed):
                return Self.refusal(
                    .forbidden,
                    "'\(principal.name)' has the \(principal.role.rawValue) role; \(method) \(path) needs \(needed.rawValue)",
                    needed: needed, challenge: nil)
            }
        }
    }

    private static func role(_ requirement: AccessRequirement) -> AccessRole {
        switch requirement {
        case .publicEndpoint: .read
        case .role(let role): role
        }
    }

    private static func refusal(
        _ status: HTTPResponse.Status, _ reason: String, needed: AccessRole, challenge: String?
    ) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let challenge { headers[.wwwAuthenticate] = challenge }
        let body = JSONValue.object(["error": .string(reason), "required_role": .string(needed.rawValue)]).jsonText
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
