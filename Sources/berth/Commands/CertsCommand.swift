import ArgumentParser
import Foundation

/// `berth certs init`: certificates for trying TLS out.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs", abstract: "Make certificates for trying TLS out.",
        subcommands: [CertsInitCommand.self])
}

struct CertsInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a CA and one certificate per node into DIR, with the platform's openssl.",
        discussion: """
            Writes DIR/ca.pem and DIR/ca.key (the cluster CA), and DIR/node-N.pem and DIR/node-N.key \
            for N = 1…--nodes: ECDSA P-256, valid for --days, usable as server and client certificate, \
            with SANs node-N, localhost and 127.0.0.1 (plus every --san). Start node N with \
            --tls-cert DIR/node-N.pem --tls-key DIR/node-N.key --tls-ca DIR/ca.pem, and point clients \
            at the CA with --ca DIR/ca.pem or BERTH_CA. For trying it out: in production, certificates \
            come from your own CA (docs/operations.md, "TLS"). Needs openssl on PATH.

            Exit status: 0 written; 64 usage error; 69 openssl is missing; 1 openssl failed or DIR \
            already holds a CA.
            """)

    @Argument(help: ArgumentHelp("Directory to write into (created if missing).", valueName: "dir"))
    var directory: String
    @Option(help: "How many node certificates (node-1…node-N).") var nodes = 3
    @Option(help: ArgumentHelp("Extra SAN on every node certificate (DNS name or IP); repeatable.", valueName: "name"))
    var san: [String] = []
    @Option(help: "Days the certificates are valid.") var days = 365

    func validate() throws {
        guard (1...100).contains(nodes) else { throw ValidationError("--nodes must be 1–100") }
        guard days >= 1 else { throw ValidationError("--days must be at least 1") }
        for name in san where name.isEmpty || name.contains(",") || name.contains(" ") {
            throw ValidationError("--san '\(name)' is not a host name or IP address")
        }
    }

    func run() throws {
        guard let openssl = TrialCertificates.findOpenSSL() else {
            FileHandle.standardError.write(
                Data(
                    ("berth certs init needs the openssl command, which is not on PATH "
                        + "(Debian/Ubuntu: apt-get install openssl); or make the certificates with your own CA.\n")
                        .utf8))
            throw ExitCode(69)
        }
        let certificates = TrialCertificates(
            directory: directory, nodes: nodes, extraNames: san, days: days, openssl: openssl)
        do {
            let written = try certificates.write()
            for file in written { print(file) }
        } catch {
            FileHandle.standardError.write(Data("berth certs init: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}
