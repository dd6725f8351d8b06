import Foundation
import NIOSSL
import StepflowCore
import StepflowSecurity
import Synchronization

/// The server's certificate and key (`http.tls`), re-readable while the server listens.
///
/// The listener's TLS configuration asks this object for the certificate at each handshake
/// (swift-nio-ssl's `sslContextCallback`), so ``reload()`` (SIGHUP) changes what new connections get without
/// closing the listener or the connections already open. A reload that fails (a missing file, a key that does
/// not match the certificate) keeps the certificate in use and says why.
public final class ServerCertificates: Sendable {
    private struct Material: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    /// `http.tls` as the host started with it (a reload re-reads the same files; new paths need a restart).
    public let configuration: ServerTLSConfig
    private let current: Mutex<Material>
    private let clientCAs: [NIOSSLCertificate]

    /// Reads the certificate, the key and the client CAs.
    ///
    /// - Throws: `configurationError` naming the key and file that cannot be read, or a key that does not match.
    public init(_ configuration: ServerTLSConfig) throws(MonitoringError) {
        self.configuration = configuration
        current = Mutex(try Self.read(configuration))
        clientCAs = configuration.clientCA.isEmpty
            ? [] : try PEMFiles.certificates(at: configuration.clientCA, key: "http.tls.client_ca")
    }

    /// Whether clients must present a certificate signed by `http.tls.client_ca`.
    public var requiresClientCertificates: Bool { !clientCAs.isEmpty }

    /// When the certificate in use stops being valid.
    public var notValidAfter: Date {
        current.withLock { Date(timeIntervalSince1970: TimeInterval($0.chain[0].notValidAfter)) }
    }

    /// Re-reads the certificate and key files; new handshakes use them from now on.
    ///
    /// - Returns: when the new certificate expires.
    /// - Throws: `configurationError` (the certificate in use is kept).
    @discardableResult
    public func reload() throws(MonitoringError) -> Date {
        let material = try Self.read(configuration)
        current.withLock { $0 = material }
        return Date(timeIntervalSince1970: TimeInterval(material.chain[0].notValidAfter))
    }

    /// The listener's TLS configuration: TLS 1.2 or later, the current certificate at each handshake, and client
    /// certificates required and verified against `client_ca` when it is set.
    public func serverConfiguration() -> TLSConfiguration {
        let material = current.withLock { $0 }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: material.chain.map { .certificate($0) }, privateKey: .privateKey(material.key))
        tls.minimumTLSVersion = .tlsv12
        if !clientCAs.isEmpty {
            tls.trustRoots = .certificates(clientCAs)
            // On a server this requires a client certificate and verifies its chain (there is no host name to check).
            tls.certificateVerification = .noHostnameVerification
        }
        tls.sslContextCallback = { [self] _, promise in
            let material = self.current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = material.chain.map { .certificate($0) }
            override.privateKey = .privateKey(material.key)
            promise.succeed(override)
        }
        return tls
    }

    private static func read(_ configuration: ServerTLSConfig) throws(MonitoringError) -> Material {
        let chain = try PEMFiles.certificates(at: configuration.certificate, key: "http.tls.certificate")
        let key = try PEMFiles.privateKey(at: configuration.privateKey, key: "http.tls.private_key")
        // A context built from the pair fails when the key is not the certificate's.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw MonitoringError(
                .configurationError,
                "http.tls.private_key: \(configuration.privateKey) is not the key of the certificate in \(configuration.certificate) (\(error))",
                hint: "give the key the certificate was issued for")
        }
        return Material(chain: chain, key: key)
    }
}

extension NIOSSLCertificate {
    /// The last common name of the subject, if any (what `security.client_certificate_roles` maps).
    var commonName: String? {
        subjectName.last { $0.type == .commonName }?.value
    }
}
