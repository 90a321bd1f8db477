import AsyncHTTPClient
import BerthControlPlane
import Foundation
import NIOCore
import NIOPosix

/// One answer from one server.
public struct ServerAnswer: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// The base URL that answered.
    public var server: String

    public var json: JSONValue? { try? JSONParser.parse(body) }
    public var errorCode: String? { json?["error"]?["code"]?.text }
    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// No server gave an answer other than a connection failure or a 503.
public struct ServersUnreachable: Error, CustomStringConvertible {
    public var attempts: [String]
    public var description: String { "no server answered: " + attempts.joined(separator: "; ") }
}

/// The control plane's servers, as the agent talks to them: the CLI's failover rules
/// (`APIClient`), plus a memory of the server that last answered, so a long-lived agent keeps
/// talking to a live server instead of timing out on a dead first URL every time. A connection
/// failure or a 503 moves on; a 503's `leader_hint` moves that leader's URL (when it is one of
/// the servers) to the front.
public actor ServerPool {
    public let servers: [String]
    private var preferred = 0

    /// A client that fails a refused connection at once (see `APIClient`).
    /// It trusts `ClientTrust`'s CA for https:// servers.
    private static let http = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: ClientTrust.clientConfiguration(connectTimeoutSeconds: 3))

    public init(servers: [String]) {
        self.servers = servers
    }

    /// `URL[,URL…]`: base URLs without a trailing slash; a bare `HOST:PORT` means `http://`.
    public static func parse(_ text: String) -> [String] {
        var servers: [String] = []
        for part in text.split(separator: ",") {
            var server = part.trimmingCharacters(in: .whitespaces)
            if server.isEmpty { continue }
            if !server.contains("://") { server = "http://" + server }
            while server.hasSuffix("/") { server.removeLast() }
            if !servers.contains(server) { servers.append(server) }
        }
        return servers
    }

    public func send(_ method: String, _ path: String, body: [UInt8]? = nil, timeoutSeconds: Int64 = 10)
        async throws(ServersUnreachable) -> ServerAnswer
    {
        var queue = Array(servers[preferred...] + servers[..<preferred])
        var attempts: [String] = []
        while !queue.isEmpty {
            let server = queue.removeFirst()
            let answer: ServerAnswer
            do {
                answer = try await Self.fetch(method, server, path, body: body, timeoutSeconds: timeoutSeconds)
            } catch {
                attempts.append("\(server): \(error)")
                continue
            }
            guard answer.status == 503 else {
                preferred = servers.firstIndex(of: server) ?? preferred
                return answer
            }
            attempts.append("\(server): HTTP 503 \(answer.errorCode ?? "")")
            if let hinted = await hintedServer(answer, among: queue) {
                queue.removeAll { $0 == hinted }
                queue.insert(hinted, at: 0)
            }
        }
        throw ServersUnreachable(attempts: attempts)
    }

    private static func fetch(_ method: String, _ server: String, _ path: String, body: [UInt8]?, timeoutSeconds: Int64)
        async throws -> ServerAnswer
    {
        var request = HTTPClientRequest(url: server + path)
        request.method = .RAW(value: method)
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: .seconds(timeoutSeconds))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return ServerAnswer(status: Int(response.status.code), body: Array(buffer: bytes), server: server)
    }

    /// The server among `remaining` whose address is the leader a 503 names: the answering
    /// node's `/api/cluster` maps the hinted node id to its HTTP address.
    private func hintedServer(_ answer: ServerAnswer, among remaining: [String]) async -> String? {
        guard let hint = answer.json?["leader_hint"]?.integer, !remaining.isEmpty,
            let cluster = try? await Self.fetch("GET", answer.server, "/api/cluster", body: nil, timeoutSeconds: 3),
            cluster.status == 200,
            let address = cluster.json?["nodes"]?.items?.first(where: { $0["node_id"]?.integer == hint })?["address"]?
                .text
        else { return nil }
        let target = Self.hostPort(address)
        return remaining.first { Self.hostPort($0) == target }
    }

    /// `host:port` of a URL or of a bare address, for matching a node's advertised HTTP address
    /// against the servers given (the CLI matches leader hints with it too).
    public static func hostPort(_ address: String) -> String {
        var rest = Substring(address.lowercased())
        if let scheme = rest.range(of: "://") {
            let isHTTPS = rest[..<scheme.lowerBound] == "https"
            rest = rest[scheme.upperBound...]
            if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
            if !rest.contains(":") || rest.hasSuffix("]") { return "\(rest):\(isHTTPS ? 443 : 80)" }
            return String(rest)
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        return String(rest)
    }
}
