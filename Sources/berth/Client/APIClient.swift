import AsyncHTTPClient
import BerthAgent
import BerthControlPlane
import Foundation
import NIOCore
import NIOPosix

/// One answer from one server.
struct APIAnswer: Sendable {
    var status: Int
    var body: String
    /// The base URL that answered.
    var server: String
    /// The response's headers, names lowercased (the last value of a repeated one).
    var headers: [String: String] = [:]
    /// The raw body (a binary download: `berth snapshot save`).
    var bytes: [UInt8] = []

    var json: JSONValue? { try? JSONParser.parse(Array(body.utf8)) }

    var isSuccess: Bool { (200..<300).contains(status) }

    /// `error.code`, when the body has the API's error shape.
    var errorCode: String? { json?["error"]?["code"]?.text }
}

/// Talks to the first server that answers. A connection failure (or a timeout) or a 503 moves on
/// to the next server in the list; a 503's `leader_hint` is followed only when that leader's
/// HTTP address is one of the servers not yet tried (it is then asked next). Any other answer,
/// success or error, is the answer. Writes carry one `Idempotency-Key` for every server tried,
/// so a write whose answer was lost with its connection is not applied twice.
struct APIClient: Sendable {
    let servers: [String]
    let timeoutSeconds: Int64
    /// Sent as `Authorization: Bearer` to every server tried.
    var token: String? = nil

    /// A client that fails a refused connection at once: AsyncHTTPClient's shared client retries
    /// connection establishment until the request's deadline, so a dead first server would cost
    /// the whole timeout before the next one is tried.
    private static let http = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: ClientTrust.clientConfiguration(connectTimeoutSeconds: 5))

    /// The first answer that is neither a connection failure nor a 503.
    func send(
        _ method: String, _ path: String, body: String? = nil, idempotencyKey: String? = nil,
        maxBytes: Int = 64 << 20
    )
        async throws(CLIError) -> APIAnswer
    {
        var queue = servers
        var attempts: [String] = []
        while !queue.isEmpty {
            let server = queue.removeFirst()
            let answer: APIAnswer
            do {
                answer = try await fetch(
                    method, server, path, body: body, idempotencyKey: idempotencyKey, maxBytes: maxBytes)
            } catch {
                attempts.append("\(server): \(Self.describe(error))")
                continue
            }
            guard answer.status == 503 else { return answer }
            let error = answer.json?["error"]
            attempts.append(
                "\(server): HTTP 503 \(error?["code"]?.text ?? "")\(error?["message"]?.text.map { ": \($0)" } ?? "")")
            if let hinted = await hintedServer(answer, among: queue) {
                queue.removeAll { $0 == hinted }
                queue.insert(hinted, at: 0)
            }
        }
        throw .unreachable(attempts)
    }

    /// `send`, with any answer other than a 2xx turned into `CLIError.refused`.
    func call(_ method: String, _ path: String, body: String? = nil, idempotencyKey: String? = nil)
        async throws(CLIError) -> APIAnswer
    {
        let answer = try await send(method, path, body: body, idempotencyKey: idempotencyKey)
        guard answer.isSuccess else { throw .refused(answer) }
        return answer
    }

    /// A write: `call` with a fresh Idempotency-Key shared by every server it tries.
    func write(_ path: String, body: String? = nil) async throws(CLIError) -> APIAnswer {
        try await call("POST", path, body: body, idempotencyKey: "berth-cli-\(UUID().uuidString)")
    }

    private func fetch(
        _ method: String, _ server: String, _ path: String, body: String?, idempotencyKey: String?,
        maxBytes: Int = 64 << 20
    ) async throws -> APIAnswer {
        var request = HTTPClientRequest(url: server + path)
        request.method = .RAW(value: method)
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await Self.http.execute(request, timeout: .seconds(timeoutSeconds))
        let bytes = try await response.body.collect(upTo: maxBytes)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return APIAnswer(
            status: Int(response.status.code), body: String(buffer: bytes), server: server, headers: headers,
            bytes: Array(buffer: bytes))
    }

    /// The server among `remaining` whose address is the leader a 503 names, if any: the
    /// answering node's `/api/cluster` tells the leader's HTTP address.
    private func hintedServer(_ answer: APIAnswer, among remaining: [String]) async -> String? {
        guard let hint = answer.json?["leader_hint"]?.integer, !remaining.isEmpty,
            let cluster = try? await fetch("GET", answer.server, "/api/cluster", body: nil, idempotencyKey: nil),
            cluster.status == 200,
            let address = cluster.json?["nodes"]?.items?.first(where: { $0["node_id"]?.integer == hint })?[
                "address"]?.text
        else { return nil }
        let target = ServerList.hostPort(address)
        return remaining.first { ServerList.hostPort($0) == target }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .connectTimeout {
            return "no answer in time"
        }
        if let error = error as? IOError { return "cannot connect: \(String(cString: strerror(error.errnoCode)))" }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        return String(describing: error)
    }
}
