import Foundation
import NIOSSL

/// HTTPS for the API with the node's TLS files. The API asks no client certificate: clients
/// (the CLI, agents, load balancers, probes) prove who they are with bearer tokens, and only
/// need to trust the cluster CA. `BERTH_HTTP_TLS=off` keeps the API plaintext while peers use
/// TLS — for measuring what peer TLS alone costs (docs/benchmarks.md), not for production.
enum APITLS {
    static func configuration(_ files: TLSFiles?, environment: [String: String]) throws -> TLSConfiguration? {
        guard let files, environment["BERTH_HTTP_TLS"] != "off" else { return nil }
        let chain: [NIOSSLCertificateSource]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificate).map { .certificate($0) }
        } catch {
            throw PeerTLSError.unusable(flag: "--tls-cert", path: files.certificate, reason: "\(error)")
        }
        do {
            key = try NIOSSLPrivateKey(file: files.key, format: .pem)
        } catch {
            throw PeerTLSError.unusable(flag: "--tls-key", path: files.key, reason: "\(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }
}
