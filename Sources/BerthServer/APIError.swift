import BerthRaft
import Foundation
import HTTPTypes
import Hummingbird

/// Every error answer: `{"error": {"code", "message", "details"}}` (spec §5), plus
/// `leader_hint` on a 503 from a node that knows no reachable leader.
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    /// A stable, machine-readable code.
    let code: String
    let message: String
    let details: [String: String]
    let leaderHint: NodeID?
    /// Seconds a client should wait before retrying (429, 503).
    let retryAfterSeconds: Int?

    init(
        _ status: HTTPResponse.Status, code: String, message: String, details: [String: String] = [:],
        leaderHint: NodeID? = nil, retryAfterSeconds: Int? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.leaderHint = leaderHint
        self.retryAfterSeconds = retryAfterSeconds
    }

    struct Body: Codable {
        struct Inner: Codable {
            var code: String
            var message: String
            var details: [String: String]
        }
        var error: Inner
        var leaderHint: NodeID?

        enum CodingKeys: String, CodingKey {
            case error
            case leaderHint = "leader_hint"
        }
    }

    var jsonBody: [UInt8] {
        let body = Body(
            error: .init(code: code, message: message, details: details), leaderHint: leaderHint)
        return (try? Array(JSONEncoder.api.encode(body))) ?? Array("{\"error\":{}}".utf8)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = "\(retryAfterSeconds)" }
        // The rest of a body too large to read is not worth waiting for: close after answering.
        if status == .contentTooLarge { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }

    static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, code: "INVALID_ARGUMENT", message: message, details: field.map { ["field": $0] } ?? [:])
    }

    static func notFound(_ what: String, id: String) -> APIError {
        APIError(.notFound, code: "NOT_FOUND", message: "\(what) \(id) not found", details: ["id": id])
    }

    /// The HTTP answer for a failed write or read.
    static func from(_ failure: WriteFailure) -> APIError {
        switch failure {
        case .notLeader(let hint):
            return APIError(
                .serviceUnavailable, code: "NO_LEADER", message: "no leader is known; retry shortly",
                leaderHint: hint == .none ? nil : hint, retryAfterSeconds: 1)
        case .queueFull(let limit):
            return APIError(
                .tooManyRequests, code: "QUEUE_FULL", message: "more than \(limit) proposals are pending; back off",
                details: ["limit": "\(limit)"], retryAfterSeconds: 1)
        case .commitTimeout:
            return APIError(
                .gatewayTimeout, code: "COMMIT_TIMEOUT",
                message: "not committed within the deadline; retry with the same Idempotency-Key")
        case .readTimeout:
            return APIError(
                .gatewayTimeout, code: "READ_TIMEOUT",
                message: "the read could not be confirmed and served within the deadline; retry", retryAfterSeconds: 1)
        case .lostInLeaderChange, .leadershipLost:
            return APIError(
                .serviceUnavailable, code: "LEADER_CHANGED",
                message: "leadership changed before the request completed; retry with the same Idempotency-Key",
                retryAfterSeconds: 1)
        case .transferInProgress:
            return APIError(
                .serviceUnavailable, code: "TRANSFER_IN_PROGRESS",
                message: "leadership is being transferred; retry shortly", retryAfterSeconds: 1)
        case .draining:
            return APIError(
                .serviceUnavailable, code: "DRAINING", message: "this node is draining; use another node",
                retryAfterSeconds: 1)
        case .shuttingDown:
            return APIError(.serviceUnavailable, code: "SHUTTING_DOWN", message: "this node is stopping")
        case .outcomeUnknown(let reason):
            return APIError(
                .gatewayTimeout, code: "OUTCOME_UNKNOWN",
                message:
                    "the write may or may not have been applied (\(reason)); retry only with the same Idempotency-Key, which returns the first answer",
                details: ["reason": reason])
        case .forwardFailed(let leader, let reason):
            return APIError(
                .serviceUnavailable, code: "LEADER_UNREACHABLE", message: "cannot reach the leader: \(reason)",
                leaderHint: leader == .none ? nil : leader, retryAfterSeconds: 1)
        }
    }
}

extension JSONEncoder {
    /// The API's JSON: sorted keys for stable output.
    static var api: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
