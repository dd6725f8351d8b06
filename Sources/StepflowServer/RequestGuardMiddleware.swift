import Hummingbird
import StepflowCore

/// The checks every request passes before it is routed, so that a web page an operator visits cannot use the API
/// behind their back and a hostile body costs little (docs/configuration.md, `http:`):
///
/// - `Host` must name the bound address, a loopback name or one of `http.allowed_hosts` (421 otherwise: DNS
///   rebinding); with a wildcard bind address and no `allowed_hosts`, any host is accepted;
/// - `Origin`, when sent, must be the host's own (`http://` plus `Host`) or one of `http.allowed_origins` (403);
/// - a request that sends a body must declare it `application/json` or `application/x-protobuf` (415):
///   the types a page can send without a CORS preflight (`text/plain`, forms) never reach a handler, except a
///   form posted to a dashboard action (`/dashboard/…`), which is refused there unless it carries the form token
///   of the principal that sent it (``DashboardRoutes``, docs/security.md);
/// - a JSON body larger than `http.max_body_size` gets 413, and one nested deeper than `http.max_json_depth`
///   gets 400, before anything decodes it.
struct RequestGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: RequestPolicy

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let refusal = policy.refusal(host: request.head.authority, origin: request.headers[.origin]) {
            return Self.answer(refusal.status, refusal.message)
        }
        let contentType = request.headers[.contentType]
        let hasBody = request.headers[.transferEncoding] != nil
            || (request.headers[.contentLength].flatMap { Int($0) } ?? 0) > 0
        let reads = [.get, .head, .options].contains(request.method)
        // A write must not carry a type a page can send without a preflight, even with an empty body.
        guard hasBody || (!reads && contentType != nil) else { return try await next(request, context) }
        guard let kind = RequestPolicy.bodyKind(contentType) else {
            return Self.answer(
                .unsupportedMediaType,
                "a request body must be Content-Type: application/json (or application/x-protobuf for remote write), "
                    + "not '\(contentType?.prefix(128) ?? "none")'")
        }
        if kind == .protobuf, !RequestPolicy.protobufPaths.contains(request.uri.path) {
            return Self.answer(
                .unsupportedMediaType, "\(request.uri.path.prefix(128)) takes Content-Type: application/json, not protobuf")
        }
        if kind == .form {
            guard request.uri.path.hasPrefix(RequestPolicy.formPathPrefix) else {
                return Self.answer(
                    .unsupportedMediaType, "\(request.uri.path.prefix(128)) takes Content-Type: application/json, not a form")
            }
            // A form is small and flat: its size is the action route's to bound (http.max_control_body_size).
            return try await next(request, context)
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: policy.maxBodySize)
        } catch {
            return LogTraceRoutes.tooLarge(policy.maxBodySize)
        }
        // A compressed body's nesting is its decoder's to bound (an OTLP body's depth limit is swift-protobuf's).
        let encoded = request.headers[.contentEncoding].map { !["", "identity"].contains($0.lowercased()) } ?? false
        let depth = kind == .json && !encoded
            && body.withUnsafeReadableBytes { JSONDepth.exceeds(policy.maxJSONDepth, in: $0) }
        if depth {
            return Self.answer(
                .badRequest,
                "the JSON body is nested deeper than http.max_json_depth (\(policy.maxJSONDepth)) levels")
        }
        return try await next(request, context)
    }

    static func answer(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: MetricJSON.error(message))))
    }
}

/// What ``RequestGuardMiddleware`` accepts: the host names, the origins and the body limits.
public struct RequestPolicy: Sendable {
    /// Host names accepted in `Host` (lowercased, without port); `nil` accepts any.
    let hosts: Set<String>?
    /// Origins accepted besides the host's own (lowercased, without a trailing slash).
    let origins: Set<String>
    let maxBodySize: Int
    let maxJSONDepth: Int

    /// - Parameters:
    ///   - address: `http.address`; a wildcard (`0.0.0.0`, `::`) accepts any host unless `allowedHosts` is set.
    ///   - allowedHosts: `http.allowed_hosts`.
    ///   - allowedOrigins: `http.allowed_origins`.
    public init(address: String, allowedHosts: [String], allowedOrigins: [String], maxBodySize: Int, maxJSONDepth: Int) {
        let wildcard = ["0.0.0.0", "::", "[::]", ""].contains(address)
        if wildcard, allowedHosts.isEmpty {
            hosts = nil
        } else {
            let bound = address.lowercased().trimmingCharacters(in: ["[", "]"])
            hosts = Set(["localhost", "127.0.0.1", "::1", bound] + allowedHosts.map { $0.lowercased().trimmingCharacters(in: ["[", "]"]) })
        }
        origins = Set(allowedOrigins.map { $0.lowercased().hasSuffix("/") ? String($0.lowercased().dropLast()) : $0.lowercased() })
        self.maxBodySize = maxBodySize
        self.maxJSONDepth = maxJSONDepth
    }

    /// Why a request with this `Host` (authority) and `Origin` is refused, or `nil`.
    func refusal(host authority: String?, origin: String?) -> (status: HTTPResponse.Status, message: String)? {
        if let hosts, let authority {
            let name = Self.hostName(authority)
            if !hosts.contains(name) {
                return (.misdirectedRequest,
                        "this host does not answer to '\(authority.prefix(256))'; add it to http.allowed_hosts")
            }
        }
        if let origin {
            let given = origin.lowercased()
            let own = authority.map { ["http://" + $0.lowercased(), "https://" + $0.lowercased()] } ?? []
            if !own.contains(given), !origins.contains(given) {
                return (.forbidden,
                        "requests from the origin '\(origin.prefix(256))' are refused; add it to http.allowed_origins")
            }
        }
        return nil
    }

    /// `authority` without its port and brackets, lowercased.
    static func hostName(_ authority: String) -> String {
        let lower = authority.lowercased()
        if lower.hasPrefix("["), let close = lower.firstIndex(of: "]") {
            return String(lower[lower.index(after: lower.startIndex)..<close])
        }
        if let colon = lower.lastIndex(of: ":"), lower.firstIndex(of: ":") == colon {
            return String(lower[..<colon])
        }
        return lower
    }

    enum BodyKind { case json, protobuf, form }

    /// Where a form body (`application/x-www-form-urlencoded`) is accepted: the dashboard's actions, which check
    /// the form token.
    static let formPathPrefix = "/dashboard/"

    /// The routes that read protobuf bodies; every other route takes JSON only.
    static let protobufPaths: Set<String> = ["/api/v1/write", "/v1/traces", "/v1/logs", "/v1/metrics"]

    /// What a `Content-Type` declares, or `nil` when the API takes no such body.
    static func bodyKind(_ contentType: String?) -> BodyKind? {
        guard let contentType else { return nil }
        let media = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        switch media {
        case "application/json": return .json
        // Remote write's type; only the routes that read protobuf accept it (RemoteWriteReceiver checks it again),
        // and a page cannot send it without a CORS preflight.
        case "application/x-protobuf": return .protobuf
        case "application/x-www-form-urlencoded": return .form
        default: return nil
        }
    }
}

/// Finds, in one pass and without decoding, whether a JSON text nests arrays and objects deeper than a limit.
enum JSONDepth {
    /// Whether `bytes` holds an array or object more than `limit` levels deep (brackets inside strings do not
    /// count).
    static func exceeds(_ limit: Int, in bytes: UnsafeRawBufferPointer) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }
}
