/// HTTPS for the host's own server (YAML `http.tls:`; docs/security.md).
///
/// With `certificate` and `private_key` set the server speaks HTTPS only. Both are PEM files, re-read on SIGHUP
/// (a new connection gets the new certificate; open ones keep theirs). With `client_ca` set as well, every client
/// must present a certificate that CA signed (mutual TLS); `security.client_certificate_roles` maps a
/// certificate's common name to a role.
public struct ServerTLSConfig: Sendable, Hashable {
    /// `certificate`, default empty (plain HTTP): the PEM certificate chain, the server's certificate first.
    public var certificate: String = ""
    /// `private_key`, default empty: the PEM private key of `certificate`.
    public var privateKey: String = ""
    /// `client_ca`, default empty (no client certificates): PEM CA certificates that sign client certificates.
    public var clientCA: String = ""

    public init() {}

    /// Whether the server speaks HTTPS.
    public var isEnabled: Bool { !certificate.isEmpty }
}

/// How the host checks the certificate of an HTTPS destination it sends to (YAML `tls:` under a webhook,
/// Alertmanager or exporter; docs/security.md). By default the system's trusted CAs verify it, host name included.
public struct OutgoingTLSConfig: Sendable, Hashable {
    /// `ca_file`, default empty (the system's CAs): PEM CA certificates trusted for this destination instead.
    public var caFile: String = ""
    /// `insecure_skip_verify`, default false: accept any certificate. For tests only: it lets anyone on the path
    /// read and change what is sent.
    public var insecureSkipVerify: Bool = false

    public init() {}

    /// Whether this is the default (the system's CAs, full verification).
    public var isDefault: Bool { caFile.isEmpty && !insecureSkipVerify }
}
