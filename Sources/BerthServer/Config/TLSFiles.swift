import Foundation

/// The PEM files that turn TLS on (`--tls-cert`, `--tls-key`, `--tls-ca`): this node's
/// certificate (chain), its private key, and the cluster CA that every peer's certificate must
/// be signed by. The same files serve mutual TLS on peer links and HTTPS on the API.
public struct TLSFiles: Equatable, Sendable {
    public var certificate: String
    public var key: String
    public var certificateAuthority: String

    public init(certificate: String, key: String, certificateAuthority: String) {
        self.certificate = certificate
        self.key = key
        self.certificateAuthority = certificateAuthority
    }

    /// nil when none of the three is set; an error when only some are, or one is unreadable —
    /// half a TLS setup would quietly run in plaintext.
    static func resolve(certificate: String?, key: String?, certificateAuthority: String?) throws(ConfigError)
        -> TLSFiles?
    {
        let named = [("tls-cert", certificate), ("tls-key", key), ("tls-ca", certificateAuthority)]
        if named.allSatisfy({ $0.1 == nil }) { return nil }
        if let missing = named.first(where: { $0.1 == nil }) {
            let given = named.filter { $0.1 != nil }.map { "--\($0.0)" }.joined(separator: ", ")
            throw .invalid(
                key: missing.0, value: "",
                reason: "TLS needs --tls-cert, --tls-key and --tls-ca together (given: \(given))")
        }
        for (key, path) in named {
            guard let path, FileManager.default.isReadableFile(atPath: path) else {
                throw .invalid(key: key, value: path ?? "", reason: "not a readable file")
            }
        }
        return TLSFiles(certificate: certificate!, key: key!, certificateAuthority: certificateAuthority!)
    }
}
