import BerthRaft
import GRDB

/// The last log entry the state machine has applied: the single row of `meta`.
public struct AppliedPosition: Codable, Equatable, Hashable, Sendable, FetchableRecord,
    PersistableRecord
{
    public static let databaseTableName = "meta"

    /// The index of the last applied entry (0 before any).
    public var index: LogIndex
    /// The term of that entry.
    public var term: Term

    public init(index: LogIndex, term: Term) {
        self.index = index
        self.term = term
    }

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case index = "last_applied_index"
        case term = "last_applied_term"
    }

    /// `meta` has exactly one row, with this id.
    static let rowID: Int64 = 1

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = Self.rowID
        container[CodingKeys.index.rawValue] = Int64(bitPattern: index)
        container[CodingKeys.term.rawValue] = Int64(bitPattern: term)
    }

    public init(row: Row) throws {
        index = UInt64(bitPattern: row[CodingKeys.index.rawValue] as Int64)
        term = UInt64(bitPattern: row[CodingKeys.term.rawValue] as Int64)
    }
}
