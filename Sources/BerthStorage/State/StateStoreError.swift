import BerthRaft

/// Why the state store could not answer or change. Stable codes; messages derive from the case.
public enum StateStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// SQLite failed (`resultCode` is SQLite's extended result code).
    case database(resultCode: Int32, message: String)
    /// A file operation around the database failed (snapshot temporary files, directories).
    case io(operation: String, path: String, reason: String)
    /// An entry was applied out of order: the next index must be `lastApplied + 1`.
    case applyGap(lastApplied: LogIndex, index: LogIndex)
    /// The `page_token` was not one this server handed out.
    case invalidPageToken(String)
    /// Snapshot bytes that are not a Berth state database.
    case invalidSnapshot(reason: String)
    /// The stored first answer of an idempotency key does not decode.
    case corruptIdempotencyRecord(key: String)
    /// A stored row does not decode (`table` names where).
    case corruptRow(table: String, reason: String)

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .database: return "STATE_DATABASE"
        case .io: return "STATE_IO"
        case .applyGap: return "STATE_APPLY_GAP"
        case .invalidPageToken: return "INVALID_PAGE_TOKEN"
        case .invalidSnapshot: return "STATE_SNAPSHOT_INVALID"
        case .corruptIdempotencyRecord: return "STATE_IDEMPOTENCY_CORRUPT"
        case .corruptRow: return "STATE_ROW_CORRUPT"
        }
    }

    /// What happened, for people.
    public var message: String {
        switch self {
        case .database(let resultCode, let message): return "SQLite error \(resultCode): \(message)"
        case .io(let operation, let path, let reason):
            return "\(operation) failed on \(path): \(reason)"
        case .applyGap(let lastApplied, let index):
            return
                "entry \(index) applied after \(lastApplied): entries must be applied in order without gaps"
        case .invalidPageToken: return "page_token is not valid"
        case .invalidSnapshot(let reason): return "snapshot is not a valid state database: \(reason)"
        case .corruptIdempotencyRecord(let key): return "the stored answer for Idempotency-Key \(key) does not decode"
        case .corruptRow(let table, let reason): return "a row of \(table) does not decode: \(reason)"
        }
    }

    public var description: String { "\(code): \(message)" }
}
