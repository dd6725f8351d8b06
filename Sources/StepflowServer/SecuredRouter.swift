import Hummingbird
import NIOCore
import StepflowCore
import StepflowIngest
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
    public typealias Handler = @Sendable (Request, HostRequestContext) async throws -> Response

    let router: Router<HostRequestContext>
    private let access: AccessControl
    private let audit: AuditTrail?
    private let limits: RequestLimits
    private var declared: [RouteAccess] = []
    private let ingestStatistics: IngestStatistics?

    init(
        router: Router<HostRequestContext>, access: AccessControl, audit: AuditTrail?, limits: RequestLimits,
        ingestStatistics: IngestStatistics? = nil
    ) {
        self.ingestStatistics = ingestStatistics
        self.router = router
        self.access = access
        self.audit = audit
        self.limits = limits
    }

    /// Every route registered, with what it needs, in registration order.
    public var routes: [RouteAccess] { declared }

    /// Whether a principal (`nil`: anonymous) may do what needs a role: a page shows an action's form only then.
    var permission: @Sendable (AccessRole, Principal?) -> Bool {
        let access = self.access
        return { role, principal in
            guard let principal else { return access.decide(.role(role), authorization: nil) == .allowed(nil) }
            return principal.role >= role
        }
    }

    /// The Hummingbird router the routes are on.
    public var hummingbirdRouter: Router<HostRequestContext> { router }

    func get(_ path: String, needs requirement: AccessRequirement, browser: Bool = false, use handler: @escaping Handler) {
        on(.get, path, needs: requirement, browser: browser, auditsSuccess: false, use: handler)
    }

    /// - Parameter ingest: an ingest route (samples, log lines, spans): audited only when refused, not on every
    ///   batch, and every answer counted by status (`stepflow_ingest_requests_total`).
    /// - Parameter browser: a form a dashboard page posts: HTTP Basic is accepted as for the pages.
    func post(
        _ path: String, needs requirement: AccessRequirement, ingest: Bool = false, browser: Bool = false,
        use handler: @escaping Handler
    ) {
        guard ingest, let statistics = ingestStatistics else {
            on(.post, path, needs: requirement, browser: browser, auditsSuccess: !ingest, use: handler)
            return
        }
        on(.post, path, needs: requirement, browser: false, auditsSuccess: false, counting: statistics, use: handler)
    }

    func put(_ path: String, needs requirement: AccessRequirement, use handler: @escaping Handler) {
        on(.put, path, needs: requirement, browser: false, auditsSuccess: true, use: handler)
    }

    func delete(_ path: String, needs requirement: AccessRequirement, use handler: @escaping Handler) {
        on(.delete, path, needs: requirement, browser: false, auditsSuccess: true, use: handler)
    }

    /// - Parameter browser: a page a browser opens: the token is also taken as the password of HTTP Basic, and a
    ///   401 asks for it with a Basic challenge.
    /// - Parameter auditsSuccess: whether an allowed request goes to the audit trail (a state change); a refused
    ///   one always does.
    /// - Parameter counting: where every answer of the route is counted by status (ingest routes).
    private func on(
        _ method: HTTPRequest.Method, _ path: String, needs requirement: AccessRequirement, browser: Bool,
        auditsSuccess: Bool, counting statistics: IngestStatistics? = nil, use handler: @escaping Handler
    ) {
        declared.append(RouteAccess(method: method, path: path, requirement: requirement))
        let (access, audit, limits) = (self.access, self.audit, self.limits)
        let parameterNames = path.split(separator: "/").filter { $0.hasPrefix("{") && $0.hasSuffix("}") }
            .map { String($0.dropFirst().dropLast()) }
        // /metrics and /health stay answerable under load (probes, scrapes); the others count against the cap.
        let counted: Bool
        if case .publicEndpoint = requirement { counted = false } else { counted = true }
        let writes = method != .get
        // Ingest may take up to http.max_body_size (RequestGuardMiddleware); the other writes far less.
        let smallBody = writes && auditsSuccess
        let serve: Handler = { request, context -> Response in
            if counted {
                guard limits.enter() else {
                    return Self.refusal(
                        .serviceUnavailable, "the host is handling http.max_concurrent_requests (\(limits.maxConcurrentRequests)) requests; retry shortly",
                        needed: nil, retryAfter: .seconds(1))
                }
            }
            defer { if counted { limits.leave() } }
            let client = context.clientAddress
            let address = context.clientHost
            var principal: Principal?
            var failure: AuthenticationFailure?
            let response: Response
            let headers = request.headers[values: .authorization]
            // A locked-out address still reaches what is open to everyone (/metrics, /health by default).
            let open = access.decide(requirement, authorization: nil) == .allowed(nil)
            if !open, let wait = limits.failures.lockedOut(address) {
                failure = .lockedOut
                response = Self.refusal(
                    .tooManyRequests, "too many failed authentications from \(address); retry later",
                    needed: Self.role(requirement), retryAfter: wait)
            } else {
                let certificateName = headers.isEmpty && access.acceptsClientCertificates
                    ? await context.clientCertificateName() : nil
                let decision = headers.count > 1
                    ? .unauthorized(reason: "the request has \(headers.count) Authorization headers; send exactly one", failure: .malformed)
                    : access.decide(requirement, authorization: headers.first, allowBasic: browser, certificateName: certificateName)
                switch decision {
                case .allowed(let who):
                    principal = who
                    if writes, let wait = limits.rate.take(who.map { "principal:\($0.name)" } ?? "address:\(address)") {
                        limits.countRateLimited(route: path, principal: who?.name ?? "anonymous")
                        return Self.refusal(
                            .tooManyRequests, "more than security.rate_limit write requests per second; slow down",
                            needed: nil, retryAfter: wait)
                    }
                    var request = request
                    if smallBody {
                        do {
                            _ = try await request.collectBody(upTo: limits.maxControlBodySize)
                        } catch {
                            return Self.refusal(
                                .contentTooLarge, "the body is larger than http.max_control_body_size (\(limits.maxControlBodySize) bytes)",
                                needed: nil, retryAfter: nil)
                        }
                    }
                    var context = context
                    context.principal = who
                    let answer = try await handler(request, context)
                    guard auditsSuccess else { return answer }
                    response = answer
                case .unauthorized(let reason, let why):
                    failure = why
                    limits.failures.recordFailure(address)
                    response = Self.refusal(
                        .unauthorized, reason, needed: Self.role(requirement), retryAfter: nil,
                        challenge: browser ? #"Basic realm="stepflow-monitor", charset="UTF-8""# : "Bearer")
                case .forbidden(let who, let needed):
                    principal = who
                    failure = .forbidden
                    response = Self.refusal(
                        .forbidden,
                        "'\(who.name)' has the \(who.role.rawValue) role; \(method) \(path) needs \(needed.rawValue)",
                        needed: needed, retryAfter: nil)
                }
            }
            if let failure { limits.countAuthFailure(failure) }
            let target = parameterNames.compactMap { name in context.parameters.get(name).map { "\(name)=\($0)" } }
            audit?.record(
                principal: principal, client: client, method: method.rawValue, route: path,
                target: target.isEmpty ? nil : target.joined(separator: ","), status: Int(response.status.code))
            return response
        }
        guard let statistics else {
            router.on(RouterPath(path), method: method, use: serve)
            return
        }
        router.on(RouterPath(path), method: method) { request, context -> Response in
            let response = try await serve(request, context)
            statistics.countRequest(path: path, status: Int(response.status.code))
            return response
        }
    }

    private static func role(_ requirement: AccessRequirement) -> AccessRole {
        switch requirement {
        case .publicEndpoint: .read
        case .role(let role): role
        }
    }

    private static func refusal(
        _ status: HTTPResponse.Status, _ reason: String, needed: AccessRole?, retryAfter: Duration?,
        challenge: String? = nil
    ) -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let challenge { headers[.wwwAuthenticate] = challenge }
        var object: [String: JSONValue] = ["error": .string(reason)]
        if let needed { object["required_role"] = .string(needed.rawValue) }
        if let retryAfter {
            // Whole seconds, rounded up (RFC 9110, section 10.2.3), at least 1.
            let seconds = max(1, retryAfter.components.seconds + (retryAfter.components.attoseconds > 0 ? 1 : 0))
            headers[.retryAfter] = String(seconds)
        }
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(object).jsonText)))
    }
}
