/// One record of the replicated log.
public struct Entry: Equatable, Hashable, Sendable {
    /// The term of the leader that created the entry.
    public var term: Term
    /// The entry's position in the log, starting at 1.
    public var index: LogIndex
    /// What the entry carries.
    public var payload: EntryPayload

    public init(term: Term, index: LogIndex, payload: EntryPayload) {
        self.term = term
        self.index = index
        self.payload = payload
    }

    /// Bytes this entry counts for when batching messages: the payload plus a fixed header.
    public var sizeBytes: Int {
        switch payload {
        case .empty: return 16
        case .command(let bytes): return 16 + bytes.count
        case .configChange: return 32
        }
    }
}

/// The content of a log entry.
public enum EntryPayload: Equatable, Hashable, Sendable {
    /// The entry a new leader appends at the start of its term, so it can commit (§5.4.2, §6.4).
    case empty
    /// An opaque command for the owner's state machine.
    case command([UInt8])
    /// A single-server membership change (thesis §4.1).
    case configChange(ConfigChange)
}
