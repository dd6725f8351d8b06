import AsyncHTTPClient
import Foundation
import NIOSSL
import StepflowCore
import Synchronization

/// The HTTP clients the host sends with (webhook, Alertmanager, remote write), one per distinct TLS setting.
///
/// The default setting (system CAs, full verification with the host name) uses AsyncHTTPClient's shared
/// client. A destination with its own `tls.ca_file` or `tls.insecure_skip_verify` gets a client made for that
/// setting, shared by every destination with the same one and kept for the life of the process (as the shared
/// client is): a reload that changes the setting adds one client, it does not leak one per reload.
public enum OutgoingHTTPClients {
    private static let clients = Mutex<[OutgoingTLSConfig: HTTPClient]>([:])

    /// The client for destinations with `tls`.
    ///
    /// - Parameter key: the configuration key of the destination's `tls`, for the error (`alerts.webhook_tls`).
    /// - Throws: `configurationError` when `ca_file` cannot be read or holds no PEM certificate.
    public static func client(for tls: OutgoingTLSConfig, key: String) throws(MonitoringError) -> HTTPClient {
        if tls.isDefault { return .shared }
        if let client = clients.withLock({ $0[tls] }) { return client }
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.tlsConfiguration = try tlsConfiguration(tls, key: key)
        return clients.withLock { clients in
            if let existing = clients[tls] { return existing }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[tls] = client
            return client
        }
    }

    /// The client TLS configuration of `tls`: its CA file as the only trust roots, or no verification at all.
    static func tlsConfiguration(_ tls: OutgoingTLSConfig, key: String) throws(MonitoringError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if !tls.caFile.isEmpty {
            configuration.trustRoots = .certificates(try PEMFiles.certificates(at: tls.caFile, key: key + ".ca_file"))
        }
        if tls.insecureSkipVerify { configuration.certificateVerification = .none }
        return configuration
    }
}

/// Reads PEM files for TLS, with errors that name the configuration key and the file.
public enum PEMFiles {
    /// The largest PEM file read: a certificate chain or CA bundle is a few kilobytes; a system bundle ~250 KB.
    public static let maximumSize = 4 << 20

    /// The certificates of a PEM file (at least one).
    public static func certificates(at path: String, key: String) throws(MonitoringError) -> [NIOSSLCertificate] {
        let bytes = try read(path, key: key)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw MonitoringError(
                .configurationError, "\(key): \(path) is not a PEM certificate file (\(error))",
                hint: "give a file with -----BEGIN CERTIFICATE----- blocks")
        }
        guard !certificates.isEmpty else {
            throw MonitoringError(
                .configurationError, "\(key): \(path) holds no certificate", hint: "give a file with -----BEGIN CERTIFICATE----- blocks")
        }
        return certificates
    }

    /// The private key of a PEM file.
    public static func privateKey(at path: String, key: String) throws(MonitoringError) -> NIOSSLPrivateKey {
        let bytes = try read(path, key: key)
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            // The key's bytes are never put in the message.
            throw MonitoringError(
                .configurationError, "\(key): \(path) is not an unencrypted PEM private key",
                hint: "give the key as PEM without a passphrase (openssl pkey -in key.pem -out plain.pem)")
        }
    }

    private static func read(_ path: String, key: String) throws(MonitoringError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw MonitoringError(.configurationError, "\(key): cannot open \(path) for reading", hint: "check the path and its permissions")
        }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: maximumSize + 1), data.count <= maximumSize else {
            throw MonitoringError(.configurationError, "\(key): \(path) is larger than \(maximumSize) bytes or cannot be read")
        }
        return Array(data)
    }
}
