import Foundation
import Logging
import Testing

@testable import BerthServer

/// Issue 12: the TLS settings and what the peer transport makes of the files.
@Suite("TLS settings")
struct TLSSettingsTests {
    @Test("--tls-cert, --tls-key and --tls-ca: all or none, from flags, YAML or the environment, files readable")
    func settings() throws {
        let directory = NSTemporaryDirectory() + "berth-tls-settings-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["n.pem", "n.key", "ca.pem"] {
            try "x".write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        let base = ServerSettings(nodeID: 1, peers: "1=127.0.0.1:7101")

        let plain = try ServerConfig.resolve(flags: ServerSettings(), environment: [:], file: base)
        #expect(plain.tls == nil)

        let flags = ServerSettings(
            tlsCert: "\(directory)/n.pem", tlsKey: "\(directory)/n.key", tlsCA: "\(directory)/ca.pem")
        let fromFlags = try ServerConfig.resolve(flags: flags, environment: [:], file: base)
        #expect(
            fromFlags.tls
                == TLSFiles(
                    certificate: "\(directory)/n.pem", key: "\(directory)/n.key",
                    certificateAuthority: "\(directory)/ca.pem"))

        let yaml = try ServerSettings.parse(
            yaml: """
                node-id: 1
                peers: 1=127.0.0.1:7101
                tls-cert: \(directory)/n.pem
                tls-key: \(directory)/n.key
                tls-ca: \(directory)/ca.pem
                log-format: json
                """)
        let fromYAML = try ServerConfig.resolve(flags: ServerSettings(), environment: [:], file: yaml)
        #expect(fromYAML.tls == fromFlags.tls)
        #expect(fromYAML.logFormat == .json)

        let fromEnvironment = try ServerConfig.resolve(
            flags: ServerSettings(),
            environment: [
                "BERTH_TLS_CERT": "\(directory)/n.pem", "BERTH_TLS_KEY": "\(directory)/n.key",
                "BERTH_TLS_CA": "\(directory)/ca.pem",
            ], file: base)
        #expect(fromEnvironment.tls == fromFlags.tls)

        // Half a setup would run in plaintext unnoticed: refused, naming what is missing.
        #expect(throws: ConfigError.self) {
            _ = try ServerConfig.resolve(
                flags: ServerSettings(tlsCert: "\(directory)/n.pem", tlsKey: "\(directory)/n.key"), environment: [:],
                file: base)
        }
        do {
            _ = try ServerConfig.resolve(
                flags: ServerSettings(tlsCA: "\(directory)/ca.pem"), environment: [:], file: base)
            Issue.record("a CA alone was accepted")
        } catch {
            #expect("\(error)".contains("tls-cert"), "\(error)")
        }
        #expect(throws: ConfigError.self) {
            var missing = flags
            missing.tlsKey = "\(directory)/absent.key"
            _ = try ServerConfig.resolve(flags: missing, environment: [:], file: base)
        }
    }

    @Test("handshake errors map to a few stable reasons for the metric")
    func reasons() {
        struct Fake: Error, CustomStringConvertible { let description: String }
        #expect(
            PeerTLS.reason(for: Fake(description: "handshakeFailed(... CERTIFICATE_VERIFY_FAILED ...)"))
                == "untrusted_certificate")
        #expect(PeerTLS.reason(for: Fake(description: "TLSV1_ALERT_UNKNOWN_CA")) == "certificate_refused_by_peer")
        #expect(PeerTLS.reason(for: Fake(description: "PEER_DID_NOT_RETURN_A_CERTIFICATE")) == "no_certificate")
        #expect(PeerTLS.reason(for: Fake(description: "WRONG_VERSION_NUMBER")) == "plaintext")
        #expect(PeerTLS.reason(for: Fake(description: "EOF during handshake")) == "closed_during_handshake")
        #expect(PeerTLS.reason(for: Fake(description: "something else")) == "handshake_error")
    }

    @Test(
        "berth certs init writes a CA and node certificates the peer transport loads",
        .enabled(if: TestCertificates.opensslPath != nil, TestCertificates.skipReason))
    func certsLoad() throws {
        let certs = try TestCertificates.cluster()
        for node in 1...3 {
            let files = TLSFiles(
                certificate: certs.certificate(node), key: certs.key(node), certificateAuthority: certs.ca)
            _ = try PeerTLS(files: files, logger: Logger(label: "test"))
            #expect(try APITLS.configuration(files, environment: [:]) != nil)
            #expect(try APITLS.configuration(files, environment: ["BERTH_HTTP_TLS": "off"]) == nil)
        }
        // A file that is not what its flag needs is named, with the flag, and the node does not start.
        let garbage = NSTemporaryDirectory() + "berth-tls-garbage-\(UUID().uuidString.prefix(8)).pem"
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        for (files, flag) in [
            (TLSFiles(certificate: garbage, key: certs.key(1), certificateAuthority: certs.ca), "--tls-cert"),
            (TLSFiles(certificate: certs.certificate(1), key: garbage, certificateAuthority: certs.ca), "--tls-key"),
            (
                TLSFiles(certificate: certs.certificate(1), key: certs.key(2), certificateAuthority: certs.ca),
                "--tls-key"
            ),
            (TLSFiles(certificate: certs.certificate(1), key: certs.key(1), certificateAuthority: garbage), "--tls-ca"),
        ] {
            do {
                _ = try PeerTLS(files: files, logger: Logger(label: "test"))
                Issue.record("\(files) was accepted")
            } catch {
                #expect("\(error)".contains("cannot use \(flag)"), "\(error)")
            }
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: certs.key(1))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // The SANs clients check: the node's name, localhost and 127.0.0.1.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestCertificates.opensslPath!)
        process.arguments = ["x509", "-in", certs.certificate(2), "-noout", "-ext", "subjectAltName,extendedKeyUsage"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        for expected in ["DNS:node-2", "DNS:localhost", "IP Address:127.0.0.1", "TLS Web Client Authentication"] {
            #expect(text.contains(expected), "\(text)")
        }
    }
}
