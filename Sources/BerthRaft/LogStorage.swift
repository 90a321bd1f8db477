/// The core's read-only view of what the owner has made durable (etcd's `Storage`).
///
/// The owner writes (from `Ready`), the core only reads. Indices below `firstIndex` are
/// compacted into the snapshot.
public protocol LogStorage: AnyObject {
    /// The hard state the server had when it last stopped. The membership comes from
    /// `snapshot().metadata.configuration` plus the configuration entries after it.
    func initialState() -> HardState
    /// Entries in `[low, high)`, stopping early once `maxBytes` is exceeded (at least one entry
    /// is always returned when the range is not empty).
    func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry]
    /// The term of the entry at `index`; valid for `firstIndex - 1 ... lastIndex`.
    func term(at index: LogIndex) throws(StorageError) -> Term
    /// The first index still in the log (snapshot index + 1).
    var firstIndex: LogIndex { get }
    /// The last index in the log, or the snapshot index when the log is empty.
    var lastIndex: LogIndex { get }
    /// The most recent snapshot.
    func snapshot() throws(StorageError) -> Snapshot
}

/// Why storage could not answer.
public enum StorageError: Error, Equatable, Sendable {
    /// The index is behind the snapshot: the entry was compacted away.
    case compacted
    /// The index is past the end of the log.
    case unavailable
    /// A snapshot is being produced and will be ready later.
    case snapshotTemporarilyUnavailable
}
