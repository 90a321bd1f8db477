import AsyncHTTPClient
import NIOSSL

/// The HTTP client a node uses to talk to other nodes' APIs (`--join`). Without TLS it is the
/// process's shared client; with TLS it trusts the cluster CA, as the peers' API certificates
/// are signed by it, and checks host names as any HTTPS client does (docs/operations.md, "TLS").
struct NodeHTTPClient: Sendable {
    let client: HTTPClient
    /// Whether `client` is this node's own, to be shut down with it.
    let owned: Bool

    init(tls: TLSFiles?) throws {
        guard let tls else {
            client = HTTPClient.shared
            owned = false
            return
        }
        var configuration = HTTPClient.Configuration()
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        tlsConfiguration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tls.certificateAuthority))
        configuration.tlsConfiguration = tlsConfiguration
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        owned = true
    }

    func shutdown() async {
        if owned { try? await client.shutdown() }
    }
}
