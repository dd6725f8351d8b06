import Foundation
import Hummingbird
import HummingbirdTLS
import HummingbirdCore
import NIOCore
import Logging
import StepflowCore
import StepflowIngest
import StepflowSecurity
import Synchronization

/// What the HTTP API reads from the running host.
public struct HTTPDataSources: Sendable {
    /// Every series to expose on `/metrics` (stored series plus the host's own telemetry).
    public var metrics: @Sendable () async -> [MetricInfo]
    /// The host's own telemetry alone (`stepflow_*`: queues, storage size, ingest and export counters), for the
    /// dashboard's overview; by default the `stepflow_` series of ``metrics``.
    public var telemetry: @Sendable () async -> [MetricInfo]
    /// Runs the health checks and returns the system health.
    public var health: @Sendable () async -> SystemHealth
    /// Every configured plugin with its state, as the JSON body of `GET /api/v1/plugins`.
    public var plugins: @Sendable () async -> JSONValue
    /// Reloads the host's configuration and returns the HTTP status and JSON body to answer
    /// `POST /api/v1/admin/reload` with; `nil` leaves the route out (404).
    public var reload: (@Sendable () async -> (status: Int, body: String))?
    /// Restarts the plugin of the given name and returns the HTTP status and JSON body to answer
    /// `POST /api/v1/plugins/{name}/restart` with; `nil` leaves the route out (404).
    public var restartPlugin: (@Sendable (String) async -> (status: Int, body: String))?
    /// The metrics API (`/api/v1/metrics`, `/api/v1/metrics/query`); `nil` leaves those routes out.
    public var metricsAPI: MetricsAPI?
    /// The logs and traces API (`/api/v1/logs…`, `/api/v1/spans`, `/api/v1/traces…`); `nil` leaves them out.
    public var logTraceAPI: LogTraceAPI?
    /// The alerting API (`/api/v1/rules…`, `/api/v1/alerts…`, `/api/v1/silences…`); `nil` leaves them out.
    public var alertAPI: AlertAPI?
    /// Where state changes and refused requests are recorded; `nil` records nothing.
    public var audit: AuditTrail?
    /// The JSON body of `GET /api/v1/profile` (docs/profiler.md, "Profile"); `nil` leaves the route out.
    public var profile: (@Sendable () async -> JSONValue)?
    /// The Prometheus remote-write receiver (`POST /api/v1/write`); `nil` leaves the route out.
    public var remoteWrite: RemoteWriteReceiver?
    /// The OTLP/HTTP receiver (`POST /v1/traces`, `/v1/logs`, `/v1/metrics`); `nil` leaves the routes out.
    public var otlp: OTLPReceiver?
    /// Where every ingest route counts its answers (`stepflow_ingest_requests_total`).
    public var ingestStatistics: IngestStatistics?

    public init(
        metrics: @escaping @Sendable () async -> [MetricInfo],
        telemetry: (@Sendable () async -> [MetricInfo])? = nil,
        health: @escaping @Sendable () async -> SystemHealth,
        plugins: @escaping @Sendable () async -> JSONValue = { .object(["plugins": .array([])]) },
        reload: (@Sendable () async -> (status: Int, body: String))? = nil,
        restartPlugin: (@Sendable (String) async -> (status: Int, body: String))? = nil,
        metricsAPI: MetricsAPI? = nil, logTraceAPI: LogTraceAPI? = nil, alertAPI: AlertAPI? = nil,
        audit: AuditTrail? = nil, profile: (@Sendable () async -> JSONValue)? = nil,
        remoteWrite: RemoteWriteReceiver? = nil, otlp: OTLPReceiver? = nil, ingestStatistics: IngestStatistics? = nil
    ) {
        self.remoteWrite = remoteWrite
        self.otlp = otlp
        self.ingestStatistics = ingestStatistics
        self.profile = profile
        self.audit = audit
        self.logTraceAPI = logTraceAPI
        self.alertAPI = alertAPI
        self.metrics = metrics
        self.telemetry = telemetry ?? { await metrics().filter { $0.name.hasPrefix("stepflow_") } }
        self.health = health
        self.plugins = plugins
        self.reload = reload
        self.restartPlugin = restartPlugin
        self.metricsAPI = metricsAPI
    }
}

/// The address the server is listening on, known once it has bound (useful with port 0).
public final class BoundAddress: Sendable {
    private let state = Mutex<(host: String, port: Int)?>(nil)
    private let waiters = Mutex<[CheckedContinuation<Int, Never>]>([])

    public init() {}

    /// The bound port, or `nil` before the server has started.
    public var port: Int? { state.withLock { $0?.port } }

    func set(host: String, port: Int) {
        state.withLock { $0 = (host, port) }
        let pending = waiters.withLock { waiters -> [CheckedContinuation<Int, Never>] in
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in pending { waiter.resume(returning: port) }
    }

    /// Waits until the server has bound and returns its port.
    public func waitForPort() async -> Int {
        await withCheckedContinuation { continuation in
            let ready = waiters.withLock { waiters -> Int? in
                if let port = state.withLock({ $0?.port }) { return port }
                waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// Builds the Hummingbird application serving the monitoring HTTP API.
///
/// Routes: `GET /metrics` (Prometheus text 0.0.4), `GET /health` (system health JSON: 200 unless unhealthy,
/// then 503; ``SystemHealth`` says how components combine), `GET /health/live` (200 while the process serves),
/// `GET /health/ready` (as `/health`, without the body's details), `GET /health/{component}` (one component; 404 when unknown), `GET /api/v1/plugins`
/// (every configured plugin with its isolation, schedule, state and last error), and, when
/// ``HTTPDataSources/reload`` is set, `POST /api/v1/admin/reload` (re-reads the configuration; JSON report); with
/// ``HTTPDataSources/metricsAPI``, the metrics API (see `MetricsRoutes`).
public enum MonitoringHTTPServer {
    /// The application, a swift-service-lifecycle `Service` to run in the host's `ServiceGroup`, configured by
    /// `http:`, with the routes of ``makeRouter(http:access:limits:sources:)``. A connection idle for `http.idle_timeout`
    /// is closed, and at most `http.max_connections` are served at once. With `certificates` (`http.tls`) it speaks
    /// HTTPS only (HummingbirdTLS over swift-nio-ssl), taking the certificate in use at each handshake.
    ///
    /// - Throws: `configurationError` when the TLS configuration cannot be built.
    public static func makeApplication(
        http: HTTPConfig, access: AccessControl, limits: RequestLimits, sources: HTTPDataSources,
        certificates: ServerCertificates? = nil, boundAddress: BoundAddress = BoundAddress(), logger: Logger
    ) throws(MonitoringError) -> some ApplicationProtocol {
        let address = http.address
        let port = http.port
        let router = makeRouter(http: http, access: access, limits: limits, sources: sources).router
        let idleTimeout = TimeAmount.nanoseconds(
            Int64(clamping: http.idleTimeout.components.seconds) &* 1_000_000_000
                &+ http.idleTimeout.components.attoseconds / 1_000_000_000)
        let plain = HTTPServerBuilder.http1(configuration: .init(idleTimeout: idleTimeout))
        let server: HTTPServerBuilder
        if let certificates {
            do {
                server = try .tls(plain, tlsConfiguration: certificates.serverConfiguration())
            } catch {
                throw MonitoringError(.configurationError, "http.tls: cannot set up TLS (\(error))", hint: "check the certificate and key files")
            }
        } else {
            server = plain
        }
        let scheme = certificates == nil ? "http" : "https"
        return Application(
            router: router,
            server: server,
            configuration: .init(
                address: .hostname(address, port: port), serverName: "stepflow-monitor",
                availableConnectionsDelegate: MaximumAvailableConnections(http.maxConnections, logger: logger)),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                boundAddress.set(host: address, port: bound)
                var metadata: Logger.Metadata = ["address": "\(scheme)://\(address):\(bound)"]
                if let certificates {
                    metadata["certificate_expires"] = "\(certificates.notValidAfter.rfc3339Seconds)"
                    metadata["client_certificates"] = "\(certificates.requiresClientCertificates ? "required" : "not asked for")"
                }
                logger.info("HTTP API listening", metadata: metadata)
            },
            logger: logger
        )
    }

    /// Every route of the API, each declaring what it needs from its caller (``SecuredRouter``; docs/security.md).
    ///
    /// Every request first passes ``RequestGuardMiddleware`` (host, origin, body type, size and nesting), then its
    /// route's access check, then its handler.
    public static func makeRouter(
        http: HTTPConfig, access: AccessControl, limits: RequestLimits, sources: HTTPDataSources
    ) -> SecuredRouter {
        let base = Router(context: HostRequestContext.self)
        base.add(middleware: RequestGuardMiddleware(policy: RequestPolicy(
            address: http.address, allowedHosts: http.allowedHostList, allowedOrigins: http.allowedOriginList,
            maxBodySize: http.maxBodySize, maxJSONDepth: http.maxJSONDepth)))
        let router = SecuredRouter(
            router: base, access: access, audit: sources.audit, limits: limits, ingestStatistics: sources.ingestStatistics)
        router.get("/metrics", needs: .publicEndpoint(.metrics)) { _, _ -> Response in
            let body = PrometheusTextEncoder.encodeBytes(await sources.metrics())
            return Response(
                status: .ok,
                headers: [.contentType: PrometheusTextEncoder.contentType],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("/health", needs: .publicEndpoint(.health)) { _, _ -> Response in
            let health = await sources.health()
            return json(HealthJSON.encode(health), status: health.status == .unhealthy ? .serviceUnavailable : .ok)
        }
        router.get("/health/live", needs: .publicEndpoint(.health)) { _, _ -> Response in
            json(#"{"status":"alive"}"#, status: .ok)
        }
        router.get("/health/ready", needs: .publicEndpoint(.health)) { _, _ -> Response in
            let health = await sources.health()
            let body = JSONValue.object(["status": .string(health.status.rawValue)]).jsonText
            return json(body, status: health.status == .unhealthy ? .serviceUnavailable : .ok)
        }
        router.get("/api/v1/plugins", needs: .role(.read)) { _, _ -> Response in
            json(await sources.plugins().jsonText, status: .ok)
        }
        if let profile = sources.profile {
            router.get("/api/v1/profile", needs: .role(.read)) { _, _ -> Response in
                json(await profile().jsonText, status: .ok)
            }
        }
        router.get("/health/{component}", needs: .publicEndpoint(.health)) { _, context -> Response in
            let component = try context.parameters.require("component")
            let health = await sources.health()
            guard let status = health.components.first(where: { $0.component == component }) else {
                let known = health.components.map(\.component).joined(separator: ", ")
                let body = JSONValue.object([
                    "error": .string("no component named '\(component)'; known components: \(known)")
                ]).jsonText
                return json(body, status: .notFound)
            }
            return json(HealthJSON.encode(status).jsonText, status: status.status == .unhealthy ? .serviceUnavailable : .ok)
        }
        if let metricsAPI = sources.metricsAPI {
            MetricsRoutes.register(on: router, api: metricsAPI)
        }
        if let receiver = sources.remoteWrite {
            RemoteWriteRoutes.register(on: router, receiver: receiver, maxBodyBytes: http.maxBodySize)
        }
        if let receiver = sources.otlp {
            OTLPRoutes.register(on: router, receiver: receiver, maxBodyBytes: http.maxBodySize)
        }
        if let logTraceAPI = sources.logTraceAPI {
            LogTraceRoutes.register(on: router, api: logTraceAPI)
        }
        if let alertAPI = sources.alertAPI {
            AlertRoutes.register(on: router, api: alertAPI)
        }
        DashboardRoutes.register(on: router, sources: sources)
        if let restartPlugin = sources.restartPlugin {
            router.post("/api/v1/plugins/{name}/restart", needs: .role(.admin)) { _, context -> Response in
                let answer = await restartPlugin(try context.parameters.require("name"))
                return json(answer.body, status: HTTPResponse.Status(code: answer.status))
            }
        }
        if let reload = sources.reload {
            router.post("/api/v1/admin/reload", needs: .role(.admin)) { _, _ -> Response in
                let answer = await reload()
                return json(answer.body, status: HTTPResponse.Status(code: answer.status))
            }
        }
        return router
    }

    private static func json(_ body: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
