import BerthControlPlane
import Foundation
import HTTPTypes
import Hummingbird

/// What a request asks for beyond its body, read the same way on every endpoint.
enum RequestOptions {
    /// The client's `Idempotency-Key` (1–255 bytes), if it sent one.
    static func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard !key.isEmpty, key.utf8.count <= 255 else {
            throw APIError.badRequest("Idempotency-Key must be 1–255 bytes", field: "Idempotency-Key")
        }
        return key
    }

    /// With `?consistent=true`, waits until this node has applied every write acknowledged
    /// before the request (ReadIndex through the leader).
    static func readConsistentlyIfAsked(_ request: Request, node: BerthNode) async throws {
        if request.uri.queryParameters["consistent"] == "true" {
            try await node.awaitLinearizableRead()
        }
    }

    /// With `?summary=true`, how many ranked nodes the summary lists (`?top=N`, 0–1000,
    /// default 10); nil when the whole explanation is asked for.
    static func summaryTop(_ request: Request) throws -> Int? {
        let query = request.uri.queryParameters
        switch query["summary"] {
        case nil, "false": return nil
        case "true": break
        default: throw APIError.badRequest("summary must be true or false", field: "summary")
        }
        guard let text = query["top"] else { return 10 }
        guard let top = Int(String(text)), (0...1000).contains(top) else {
            throw APIError.badRequest("top must be an integer from 0 to 1000", field: "top")
        }
        return top
    }

    /// The instant to evaluate placement at: `?at=RFC3339` (so that every server can be asked
    /// the same question), or this node's clock.
    static func evaluationTime(_ request: Request) throws -> Int64 {
        guard let text = request.uri.queryParameters["at"] else { return WallClock.nowMilliseconds() }
        guard let ms = RFC3339.milliseconds(from: String(text)) else {
            throw APIError.badRequest("at must be an RFC 3339 time", field: "at")
        }
        return ms
    }
}
