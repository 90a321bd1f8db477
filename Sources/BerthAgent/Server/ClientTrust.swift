import AsyncHTTPClient
import Foundation
import NIOSSL

/// Which CA the agent and the CLI trust for `https://` servers: the cluster CA named by `--ca`
/// or `BERTH_CA` (the servers' certificates are signed by it), else the system's trust store.
/// Set once, before the first request: the HTTP clients that read it are made on first use.
public enum ClientTrust {
    nonisolated(unsafe) private static var configured: TLSConfiguration?
    private static let lock = NSLock()

    /// Loads the CA file: `path`, else `BERTH_CA`, else none (system roots). Throws a message
    /// naming the file when it holds no PEM certificate.
    public static func use(caFile path: String?, environment: [String: String]) throws(ClientTrustError) {
        let file = path ?? environment["BERTH_CA"].flatMap { $0.isEmpty ? nil : $0 }
        guard let file else { return }
        let roots: [NIOSSLCertificate]
        do {
            roots = try NIOSSLCertificate.fromPEMFile(file)
        } catch {
            throw ClientTrustError(path: file, reason: "\(error)")
        }
        guard !roots.isEmpty else { throw ClientTrustError(path: file, reason: "no PEM certificate in it") }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(roots)
        lock.withLock { configured = tls }
    }

    /// `configuration` with the trusted CA, when one was set.
    static func apply(to configuration: inout HTTPClient.Configuration) {
        if let tls = lock.withLock({ configured }) { configuration.tlsConfiguration = tls }
    }

    /// A client configuration that fails a refused connection at once (see `ServerPool`) and
    /// trusts the configured CA.
    public static func clientConfiguration(connectTimeoutSeconds: Int64) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(connectTimeoutSeconds)
        apply(to: &configuration)
        return configuration
    }
}

/// `--ca` / `BERTH_CA` names a file that is not a PEM CA certificate.
public struct ClientTrustError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot use \(path) as the CA: \(reason)" }
}
