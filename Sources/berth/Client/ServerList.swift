import ArgumentParser
import BerthAgent
import Foundation

/// The options every client command shares: which servers to ask, and how to show the answer.
struct ClientOptions: ParsableArguments {
    static let defaultServer = "http://127.0.0.1:8101"

    @Option(
        help: ArgumentHelp(
            "Servers to try in order: on a connection failure or a 503 the next one is asked. "
                + "Default: $BERTH_SERVERS, else \(ClientOptions.defaultServer).",
            valueName: "url[,url…]"))
    var servers: String?

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp("table (for people) or json (the server's answer unchanged).", valueName: "format"))
    var output: OutputFormat = .table

    @Option(help: ArgumentHelp("How long to wait for each server's answer.", valueName: "seconds"))
    var timeout: Int64 = 10

    @Option(
        help: ArgumentHelp(
            "Bearer token for servers started with --token-file. Default: $BERTH_TOKEN (safer: "
                + "a flag shows in the process list).", valueName: "token"))
    var token: String?

    @Option(
        help: ArgumentHelp(
            "CA certificate (PEM) that https:// servers' certificates are checked against, for servers "
                + "started with --tls-ca. Default: $BERTH_CA, else the system's trust store.", valueName: "file"))
    var ca: String?

    /// `--token`, else `BERTH_TOKEN`, else none.
    var bearerToken: String? {
        if let token { return token }
        let environment = ProcessInfo.processInfo.environment["BERTH_TOKEN"]?.trimmingCharacters(in: .whitespaces)
        return environment?.isEmpty == false ? environment : nil
    }

    mutating func validate() throws {
        do {
            _ = try serverList()
        } catch CLIError.usage(let message) {
            throw ValidationError(message)
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be at least 1 second") }
        do {
            try ClientTrust.use(caFile: ca, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// `--servers`, else `BERTH_SERVERS`, else the default, as base URLs.
    func serverList() throws(CLIError) -> [String] {
        if let servers { return try ServerList.parse(servers, source: "--servers") }
        if let environment = ProcessInfo.processInfo.environment["BERTH_SERVERS"],
            !environment.trimmingCharacters(in: .whitespaces).isEmpty
        {
            return try ServerList.parse(environment, source: "BERTH_SERVERS")
        }
        return [Self.defaultServer]
    }

    func client() throws(CLIError) -> APIClient {
        APIClient(servers: try serverList(), timeoutSeconds: timeout, token: bearerToken)
    }
}

/// Parsing and comparing server URLs.
enum ServerList {
    /// `URL[,URL…]` as base URLs without a trailing slash; a bare `HOST:PORT` means `http://`.
    static func parse(_ text: String, source: String) throws(CLIError) -> [String] {
        var servers: [String] = []
        for part in text.split(separator: ",") {
            var server = part.trimmingCharacters(in: .whitespaces)
            if server.isEmpty { continue }
            if !server.contains("://") { server = "http://" + server }
            while server.hasSuffix("/") { server.removeLast() }
            guard let url = URL(string: server), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty,
                url.query == nil, url.fragment == nil
            else {
                throw .usage("\(source): '\(part)' is not an http(s) URL such as \(ClientOptions.defaultServer)")
            }
            if !servers.contains(server) { servers.append(server) }
        }
        guard !servers.isEmpty else { throw .usage("\(source) names no server") }
        return servers
    }

    /// `host:port` of a URL or of a bare address (the agent's rule: both follow leader hints).
    static func hostPort(_ address: String) -> String {
        ServerPool.hostPort(address)
    }
}
