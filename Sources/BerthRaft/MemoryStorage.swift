/// An in-memory `LogStorage`: the reference implementation, used by tests and the simulator.
///
/// Its mutating methods are the writes an owner performs when it carries out a `Ready`.
public final class MemoryStorage: LogStorage {
    public private(set) var hardState: HardState
    private var currentSnapshot: Snapshot
    /// `log[0]` is a sentinel holding the snapshot's index and term.
    private var log: [Entry]

    public init(configuration: Configuration) {
        hardState = HardState()
        currentSnapshot = Snapshot(
            metadata: SnapshotMetadata(index: 0, term: 0, configuration: configuration), data: [])
        log = [Entry(term: 0, index: 0, payload: .empty)]
    }

    /// A deep copy: what survives a crash is a copy of the durable state, never shared.
    public func copy() -> MemoryStorage {
        let other = MemoryStorage(configuration: currentSnapshot.metadata.configuration)
        other.hardState = hardState
        other.currentSnapshot = currentSnapshot
        other.log = log
        return other
    }

    public func initialState() -> HardState { hardState }

    private var offset: LogIndex { log[0].index }

    public var firstIndex: LogIndex { offset + 1 }

    public var lastIndex: LogIndex { offset + LogIndex(log.count) - 1 }

    public func term(at index: LogIndex) throws(StorageError) -> Term {
        guard index >= offset else { throw .compacted }
        guard index <= lastIndex else { throw .unavailable }
        return log[Int(index - offset)].term
    }

    public func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
        guard low > offset else { throw .compacted }
        guard high <= lastIndex + 1 else { throw .unavailable }
        var result: [Entry] = []
        var bytes = 0
        for i in low..<high {
            let entry = log[Int(i - offset)]
            bytes += entry.sizeBytes
            if !result.isEmpty && bytes > maxBytes { break }
            result.append(entry)
        }
        return result
    }

    public func snapshot() throws(StorageError) -> Snapshot { currentSnapshot }

    /// Records a new hard state.
    public func setHardState(_ state: HardState) {
        hardState = state
    }

    /// Appends entries, first discarding any existing entries at or after the first new index.
    public func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        precondition(first.index > offset, "cannot overwrite the snapshot")
        precondition(first.index <= lastIndex + 1, "gap in the log")
        log.removeSubrange(Int(first.index - offset)...)
        log.append(contentsOf: entries)
    }

    /// Replaces everything with `snapshot` (a follower installing its leader's snapshot).
    public func applySnapshot(_ snapshot: Snapshot) {
        guard snapshot.metadata.index > currentSnapshot.metadata.index else { return }
        currentSnapshot = snapshot
        log = [Entry(term: snapshot.metadata.term, index: snapshot.metadata.index, payload: .empty)]
    }

    /// Takes a snapshot at `index` (which must be applied) and drops the log before it,
    /// keeping `retainEntries` entries so slightly lagging followers need no snapshot.
    public func compact(
        snapshotAt index: LogIndex, configuration: Configuration, data: [UInt8], retainEntries: Int = 0
    ) {
        guard index > currentSnapshot.metadata.index, index <= lastIndex else { return }
        let term = log[Int(index - offset)].term
        currentSnapshot = Snapshot(
            metadata: SnapshotMetadata(index: index, term: term, configuration: configuration), data: data)
        let keepFrom = index >= LogIndex(retainEntries) ? index - LogIndex(retainEntries) : 0
        let newOffset = max(offset, keepFrom)
        log.removeFirst(Int(newOffset - offset))
        // The sentinel keeps the term of the entry it stands for.
        log[0] = Entry(term: log[0].term, index: log[0].index, payload: .empty)
    }
}
