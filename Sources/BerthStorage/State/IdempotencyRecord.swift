import BerthRaft
import Foundation
import GRDB

/// One row of `idempotency_keys`: the first answer given to a client write that carried an
/// `Idempotency-Key`, returned again for a retry with the same key within the window.
public struct IdempotencyRecord: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    /// Expired keys are deleted at log indices that are multiples of this (see `execute`).
    static let purgeEveryIndices: LogIndex = 64

    public static let databaseTableName = "idempotency_keys"

    /// The client's `Idempotency-Key` header.
    public var key: String
    /// The timestamp of the command that first used the key, in milliseconds since the epoch.
    public var createdAtMs: Int64
    /// The HTTP status of the first answer.
    public var statusCode: Int
    /// The first answer: a JSON-encoded `CommandOutcome`, stored as a blob.
    public var response: Data
    /// The fingerprint of the request that first used the key (its bits as a signed integer,
    /// as SQLite stores them); 0 when unknown.
    public var requestHash: Int64

    public init(key: String, createdAtMs: Int64, statusCode: Int, response: Data, requestHash: UInt64 = 0) {
        self.key = key
        self.createdAtMs = createdAtMs
        self.statusCode = statusCode
        self.response = response
        self.requestHash = Int64(bitPattern: requestHash)
    }

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case key
        case createdAtMs = "created_at_ms"
        case statusCode = "status_code"
        case response
        case requestHash = "request_hash"
    }

    /// How long a key is remembered, by the commands' own timestamps: 24 hours.
    public static let windowMs: Int64 = 24 * 60 * 60 * 1_000
}
