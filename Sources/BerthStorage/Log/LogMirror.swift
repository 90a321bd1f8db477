import BerthRaft

/// The in-memory copy of what the WAL and snapshot file hold, serving the core's reads.
///
/// `log[0]` is a sentinel standing for the entry just before the first one kept (the log's
/// start: the snapshot index, or earlier when compaction kept a tail the snapshot covers).
struct LogMirror {
    var hardState: HardState
    var snapshot: Snapshot
    private(set) var log: [Entry]

    init(hardState: HardState, snapshot: Snapshot, logStartIndex: LogIndex, logStartTerm: Term) {
        self.hardState = hardState
        self.snapshot = snapshot
        log = [Entry(term: logStartTerm, index: logStartIndex, payload: .empty)]
    }

    /// The index of the sentinel.
    var offset: LogIndex { log[0].index }
    var firstIndex: LogIndex { offset + 1 }
    var lastIndex: LogIndex { offset + LogIndex(log.count) - 1 }

    func term(at index: LogIndex) throws(StorageError) -> Term {
        guard index >= offset else { throw .compacted }
        guard index <= lastIndex else { throw .unavailable }
        return log[Int(index - offset)].term
    }

    func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
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

    /// Whether `entries` can be appended: contiguous, after the sentinel, no gap after the end.
    func canAppend(_ entries: [Entry]) -> Bool {
        guard let first = entries.first else { return true }
        guard first.index > offset, first.index <= lastIndex + 1 else { return false }
        for (position, entry) in entries.enumerated()
        where entry.index != first.index + LogIndex(position) {
            return false
        }
        return true
    }

    /// Appends entries, dropping any stored entries at or after the first new index.
    /// The caller checked `canAppend`.
    mutating func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        log.removeSubrange(Int(first.index - offset)...)
        log.append(contentsOf: entries)
    }

    /// The log restarts after `marker.logStart`, with `snapshot` as its base.
    mutating func restart(at marker: SnapshotMarker, snapshot: Snapshot) {
        self.snapshot = snapshot
        log = [Entry(term: marker.logStartTerm, index: marker.logStartIndex, payload: .empty)]
    }

    /// Installs a snapshot and drops entries before `newOffset` (which must be in the log).
    mutating func compact(to snapshot: Snapshot, keepingFrom newOffset: LogIndex) {
        self.snapshot = snapshot
        let drop = Int(newOffset - offset)
        let sentinelTerm = log[drop].term
        log.removeFirst(drop)
        log[0] = Entry(term: sentinelTerm, index: newOffset, payload: .empty)
    }
}
