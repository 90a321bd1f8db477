import BerthControlPlane
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
    /// Details that are not plain strings (validation problems, an explanation), beside
    /// `details` in the same `details` object.
    var structuredDetails: [String: AnyEncodable] = [:]
    let leaderHint: NodeID?
    /// Seconds a client should wait before retrying (429, 503).
    let retryAfterSeconds: Int?
    /// A 401 says which scheme to use (RFC 6750).
    var wwwAuthenticate = false

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

    struct Body: Encodable {
        struct Inner: Encodable {
            var code: String
            var message: String
            var details: [String: String]
            var structuredDetails: [String: AnyEncodable] = [:]

            enum CodingKeys: String, CodingKey {
                case code, message, details
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(code, forKey: .code)
                try container.encode(message, forKey: .message)
                var nested = container.nestedContainer(keyedBy: DetailKey.self, forKey: .details)
                for (key, value) in details { try nested.encode(value, forKey: DetailKey(key)) }
                for (key, value) in structuredDetails { try nested.encode(value, forKey: DetailKey(key)) }
            }
        }

        struct DetailKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
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
            error: .init(code: code, message: message, details: details, structuredDetails: structuredDetails),
            leaderHint: leaderHint)
        return (try? Array(JSONEncoder.api.encode(body))) ?? Array("{\"error\":{}}".utf8)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = "\(retryAfterSeconds)" }
        if wwwAuthenticate { headers[.wwwAuthenticate] = "Bearer realm=\"berth\"" }
        // The rest of a body too large to read is not worth waiting for: close after answering.
        if status == .contentTooLarge { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody)))
    }

    static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, code: "INVALID_ARGUMENT", message: message, details: field.map { ["field": $0] } ?? [:])
    }

    /// 404 `NODE_NOT_FOUND`: no envelope was ever accepted for this node id.
    static func nodeNotFound(_ id: String) -> APIError {
        APIError(
            .notFound, code: "NODE_NOT_FOUND", message: "node \(id) not found: no envelope was accepted for it",
            details: ["id": id])
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

/// Any encodable value, for error details of more than one type.
struct AnyEncodable: Encodable, Sendable {
    private let encodeValue: @Sendable (any Encoder) throws -> Void

    init(_ value: some Encodable & Sendable) {
        encodeValue = { try value.encode(to: $0) }
    }

    func encode(to encoder: any Encoder) throws {
        try encodeValue(encoder)
    }
}

extension APIError {
    /// 400 `INVALID_ARGUMENT` listing every problem of a submitted document; `details.field`
    /// names the first.
    static func invalid(_ failure: ValidationFailure, what: String) -> APIError {
        var error = APIError(
            .badRequest, code: ValidationFailure.code,
            message: "\(what) is not valid: \(failure.summary)",
            details: failure.problems.first.map { ["field": $0.field] } ?? [:])
        error.structuredDetails["problems"] = AnyEncodable(failure.problems)
        return error
    }
}
