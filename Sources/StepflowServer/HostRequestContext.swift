import Hummingbird
import NIOCore
import NIOSSL
import StepflowSecurity

/// The request context of the host's routes: Hummingbird's core context, the client's address (for the audit
/// trail and per-client limits) and, once the route's access check has passed, the principal that made it.
public struct HostRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connected client, when known (router-mode tests have none).
    public let remoteAddress: SocketAddress?
    /// Who made the request: set by ``SecuredRouter`` before the handler runs; `nil` when anonymous.
    public var principal: Principal?
    /// The connection, to read the client's certificate from under mutual TLS.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The common name of the client's verified certificate, when the connection is mutual TLS.
    func clientCertificateName() async -> String? {
        try? await channel.nioSSL_peerCertificate().get()?.commonName
    }

    /// The client's IP address alone (what per-client limits key on), or `unknown`.
    var clientHost: String {
        remoteAddress?.ipAddress ?? "unknown"
    }

    /// The client's address as text (`127.0.0.1:51234`), or `unknown`.
    var clientAddress: String {
        guard let address = remoteAddress else { return "unknown" }
        if let ip = address.ipAddress, let port = address.port { return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }
        return "\(address)"
    }
}
