import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Mutual TLS on peer links: both ends present their certificate and check the other's against
/// the cluster CA, so only nodes whose certificate that CA signed can speak Raft to this one.
///
/// Host names are not checked (docs/operations.md, "TLS"): peers are dialled by whatever
/// address `--peers` names (an IP, a pod's DNS name, 127.0.0.1 in tests), and the CA is the
/// cluster's own, so being signed by it is what makes a node a member. Which node it is, is
/// then settled by the hello, as without TLS.
final class PeerTLS: Sendable {
    let serverContext: NIOSSLContext
    let clientContext: NIOSSLContext
    private let logger: Logger
    /// When each (direction, remote address, reason) was last logged: a peer refused at every
    /// redial (several a second) gets one line per `logInterval`.
    private let lastLogged = NIOLockedValueBox<[String: NIODeadline]>([:])
    private static let logInterval: TimeAmount = .seconds(10)

    init(files: TLSFiles, logger: Logger) throws {
        // NIOSSL's errors name neither the file nor the flag: say which one is unusable.
        func load<T>(_ flag: String, _ path: String, _ body: () throws -> T) throws -> T {
            do { return try body() } catch { throw PeerTLSError.unusable(flag: flag, path: path, reason: "\(error)") }
        }
        let chain = try load("--tls-cert", files.certificate) {
            try NIOSSLCertificate.fromPEMFile(files.certificate).map { NIOSSLCertificateSource.certificate($0) }
        }
        let key = try load("--tls-key", files.key) { try NIOSSLPrivateKey(file: files.key, format: .pem) }
        let roots = try load("--tls-ca", files.certificateAuthority) {
            try NIOSSLCertificate.fromPEMFile(files.certificateAuthority)
        }
        guard !chain.isEmpty else {
            throw PeerTLSError.unusable(flag: "--tls-cert", path: files.certificate, reason: "no PEM certificate in it")
        }
        guard !roots.isEmpty else {
            throw PeerTLSError.unusable(
                flag: "--tls-ca", path: files.certificateAuthority, reason: "no PEM certificate in it")
        }

        var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        server.trustRoots = .certificates(roots)
        // A server set to verify asks for the client's certificate and refuses a handshake without one.
        server.certificateVerification = .noHostnameVerification
        server.minimumTLSVersion = .tlsv12

        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain
        client.privateKey = .privateKey(key)
        client.trustRoots = .certificates(roots)
        client.certificateVerification = .noHostnameVerification
        client.minimumTLSVersion = .tlsv12

        // A key that does not belong to the certificate fails here.
        serverContext = try load("--tls-key", files.key) { try NIOSSLContext(configuration: server) }
        clientContext = try load("--tls-key", files.key) { try NIOSSLContext(configuration: client) }
        self.logger = logger
    }

    enum Direction: String, Sendable {
        /// A peer dialled this node.
        case inbound
        /// This node dialled a peer.
        case outbound
    }

    /// A connection refused before its hello: counted always, logged once per `logInterval`.
    func refused(direction: Direction, remote: SocketAddress?, reason: String, detail: String) {
        Counter(
            label: "berth_peer_tls_handshake_failures_total",
            dimensions: [("direction", direction.rawValue), ("reason", reason)]
        ).increment()
        // An inbound connection comes from a new ephemeral port each time: keyed by host. An
        // outbound one goes to the peer's listening port: keyed by host and port.
        let address = direction == .inbound ? remote?.ipAddress : remote.map { "\($0)" }
        let key = "\(direction.rawValue) \(address ?? "?") \(reason)"
        let now = NIODeadline.now()
        let log = lastLogged.withLockedValue { last -> Bool in
            if let previous = last[key], now - previous < Self.logInterval { return false }
            last[key] = now
            return true
        }
        guard log else { return }
        logger.warning(
            "peer TLS handshake refused",
            metadata: [
                "direction": "\(direction.rawValue)", "remote": "\(remote.map { "\($0)" } ?? "?")",
                "reason": "\(reason)", "detail": "\(detail)",
            ])
    }

    /// A short, stable name for why a handshake failed, for the metric's `reason` label.
    static func reason(for error: any Error) -> String {
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return "untrusted_certificate" }
        if text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || text.contains("CERTIFICATE_REQUIRED") {
            return "no_certificate"
        }
        if text.contains("UNKNOWN_CA") || text.contains("BAD_CERTIFICATE") || text.contains("CERTIFICATE_UNKNOWN")
            || text.contains("DECRYPT_ERROR")
        {
            return "certificate_refused_by_peer"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") || text.contains("PACKET_LENGTH") {
            return "plaintext"
        }
        if text.contains("EOF during") { return "closed_during_handshake" }
        return "handshake_error"
    }
}

/// A TLS file that cannot be used, named by its flag: the node does not start.
enum PeerTLSError: Error, CustomStringConvertible {
    case unusable(flag: String, path: String, reason: String)

    var description: String {
        switch self {
        case .unusable(let flag, let path, let reason): return "cannot use \(flag) \(path): \(reason)"
        }
    }
}
