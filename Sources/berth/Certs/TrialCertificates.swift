import Foundation

/// A CA and node certificates for trying TLS out (`berth certs init`), made by the platform's
/// `openssl` command: ECDSA P-256 keys, the CA valid for `days`, each node's certificate signed
/// by it for both server and client use (peer links are mutual TLS), with SANs for the node's
/// name, `localhost`, `127.0.0.1` and any extra names given. Not a PKI: production certificates
/// come from the operator's own CA (docs/operations.md, "TLS").
struct TrialCertificates {
    var directory: String
    var nodes: Int
    var extraNames: [String] = []
    var days = 365
    var openssl: String

    /// The `openssl` on `PATH`, or nil.
    static func findOpenSSL(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") {
            let candidate = "\(folder)/openssl"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func nodeName(_ index: Int) -> String { "node-\(index)" }

    /// The SAN entry for a name: `IP:` for an address, `DNS:` otherwise.
    static func subjectAltName(_ name: String) -> String {
        let isAddress =
            name.contains(":") || name.split(separator: ".").count == 4 && name.allSatisfy { $0.isNumber || $0 == "." }
        return (isAddress ? "IP:" : "DNS:") + name
    }

    /// Writes `ca.pem`, `ca.key` and `node-N.pem`, `node-N.key` for N in 1…nodes; returns the
    /// files written. Refuses to overwrite an existing CA.
    func write() throws(CertificateError) -> [String] {
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .failed("cannot create \(directory): \(error.localizedDescription)")
        }
        let caCert = "\(directory)/ca.pem"
        let caKey = "\(directory)/ca.key"
        if files.fileExists(atPath: caCert) || files.fileExists(atPath: caKey) {
            throw .failed("\(directory) already holds a CA (ca.pem or ca.key); choose an empty directory")
        }
        var written: [String] = []
        try run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", caKey, "-out", caCert, "-days", "\(days)", "-subj", "/CN=berth trial cluster CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        written += [caCert, caKey]
        let extensions = "\(directory)/.node-extensions.cnf"
        defer { try? files.removeItem(atPath: extensions) }
        for index in 1...nodes {
            let name = Self.nodeName(index)
            let key = "\(directory)/\(name).key"
            let cert = "\(directory)/\(name).pem"
            let request = "\(directory)/\(name).csr"
            defer { try? files.removeItem(atPath: request) }
            let names = [name, "localhost", "127.0.0.1"] + extraNames
            let text = """
                basicConstraints = critical, CA:FALSE
                keyUsage = critical, digitalSignature, keyEncipherment
                extendedKeyUsage = serverAuth, clientAuth
                subjectAltName = \(names.map(Self.subjectAltName).joined(separator: ", "))

                """
            do {
                try text.write(toFile: extensions, atomically: true, encoding: .utf8)
            } catch {
                throw .failed("cannot write \(extensions): \(error.localizedDescription)")
            }
            try run([
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", request, "-subj", "/CN=\(name)",
            ])
            try run([
                "x509", "-req", "-in", request, "-CA", caCert, "-CAkey", caKey, "-set_serial",
                "\(UInt64.random(in: 1...UInt64(Int64.max)))", "-days", "\(days)", "-extfile", extensions,
                "-out", cert,
            ])
            written += [cert, key]
        }
        // Private keys for the owner only.
        for file in written where file.hasSuffix(".key") {
            try? files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
        return written
    }

    private func run(_ arguments: [String]) throws(CertificateError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw .failed("cannot run \(openssl): \(error.localizedDescription)")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw .failed("openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(text)")
        }
    }
}

enum CertificateError: Error, CustomStringConvertible {
    case failed(String)

    var description: String {
        switch self {
        case .failed(let message): return message
        }
    }
}
