/// What a snapshot covers: the log prefix it replaces (§7).
public struct SnapshotMetadata: Equatable, Hashable, Sendable {
    /// The last log index the snapshot includes.
    public var index: LogIndex
    /// The term of the entry at `index`.
    public var term: Term
    /// The membership in force at `index`.
    public var configuration: Configuration

    public init(index: LogIndex, term: Term, configuration: Configuration) {
        self.index = index
        self.term = term
        self.configuration = configuration
    }
}

/// A state machine image plus the metadata that places it in the log.
///
/// The core never looks inside `data`; the owner produces and restores it. On the wire the
/// transport streams `data` in chunks, so the core sees a snapshot only when it is whole.
public struct Snapshot: Equatable, Hashable, Sendable {
    public var metadata: SnapshotMetadata
    /// The owner's serialized state machine as of `metadata.index`.
    public var data: [UInt8]

    public init(metadata: SnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }
}
