import AsyncHTTPClient
import Foundation
import NIOSSL
import Testing

/// Certificates for the TLS tests, made once per test process by `berth certs init` (which
/// runs the platform's `openssl`): a CA with node-1…node-5, and a second, unrelated CA (the
/// "rogue" one) with its own node certificates, for the refusal tests.
enum TestCertificates {
    /// The `openssl` the tests need, if installed.
    static let opensslPath: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/openssl" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }()

    static let skipReason: Comment = "openssl is not installed (Debian/Ubuntu: apt-get install openssl)"

    struct CertificateSet: Sendable {
        let directory: String
        var ca: String { "\(directory)/ca.pem" }
        func certificate(_ node: Int) -> String { "\(directory)/node-\(node).pem" }
        func key(_ node: Int) -> String { "\(directory)/node-\(node).key" }
        /// The `berth server` flags for node `node` with these certificates.
        func serverArguments(_ node: Int) -> [String] {
            ["--tls-cert", certificate(node), "--tls-key", key(node), "--tls-ca", ca]
        }
    }

    /// Removed when the test process exits.
    nonisolated(unsafe) private static var base: String?

    private static let made: Result<(cluster: CertificateSet, rogue: CertificateSet), any Error> = Result {
        let base = NSTemporaryDirectory() + "berth-test-certs-\(getpid())-\(UUID().uuidString.prefix(6))"
        TestCertificates.base = base
        atexit {
            if let base = TestCertificates.base { try? FileManager.default.removeItem(atPath: base) }
        }
        let binary = try BerthBinary.path()
        for name in ["cluster", "rogue"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["certs", "init", "\(base)/\(name)", "--nodes", "5"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw Observation("berth certs init \(base)/\(name) exited \(process.terminationStatus)")
            }
        }
        return (CertificateSet(directory: "\(base)/cluster"), CertificateSet(directory: "\(base)/rogue"))
    }

    /// The cluster's certificates (and CA).
    static func cluster() throws -> CertificateSet { try made.get().cluster }

    /// Certificates from another CA.
    static func rogue() throws -> CertificateSet { try made.get().rogue }

    private static let client: Result<HTTPClient, any Error> = Result {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(try cluster().ca))
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A client that trusts the cluster CA (and checks host names: the certificates carry 127.0.0.1).
    static func httpsClient() throws -> HTTPClient { try client.get() }
}
