/// The log as the core sees it: stable storage, then the unstable tail, plus the commit and
/// apply cursors (§5.3).
struct RaftLog {
    let storage: any LogStorage
    var unstable: UnstableLog
    /// Highest index known to be committed.
    private(set) var committed: LogIndex
    /// Highest index the owner has applied (confirmed by `advance()`).
    private(set) var applied: LogIndex
    /// Highest index handed to the owner to apply; `applied ≤ applying ≤ committed`.
    private(set) var applying: LogIndex

    init(storage: any LogStorage, committed: LogIndex, applied: LogIndex) {
        self.storage = storage
        unstable = UnstableLog(offset: storage.lastIndex + 1)
        let floor = storage.firstIndex - 1
        self.applied = max(applied, floor)
        self.applying = self.applied
        self.committed = max(committed, self.applied)
        precondition(self.committed <= storage.lastIndex, "commit index \(self.committed) is past the log's end")
    }

    var firstIndex: LogIndex {
        unstable.firstIndex ?? storage.firstIndex
    }

    var lastIndex: LogIndex {
        unstable.lastIndex ?? storage.lastIndex
    }

    /// The last index already on stable storage.
    var stableLastIndex: LogIndex {
        if unstable.snapshot != nil { return unstable.offset - 1 }
        return min(storage.lastIndex, unstable.offset - 1)
    }

    var lastTerm: Term {
        term(at: lastIndex) ?? 0
    }

    /// The term at `index`, or nil if it was compacted or does not exist yet.
    func term(at index: LogIndex) -> Term? {
        guard index >= firstIndex - 1, index <= lastIndex else { return nil }
        if let term = unstable.term(at: index) { return term }
        return try? storage.term(at: index)
    }

    func matchTerm(_ index: LogIndex, _ term: Term) -> Bool {
        self.term(at: index) == term
    }

    /// Whether a candidate whose log ends at (`index`, `term`) is at least as up to date (§5.4.1).
    func isUpToDate(lastIndex index: LogIndex, lastTerm term: Term) -> Bool {
        term > lastTerm || (term == lastTerm && index >= lastIndex)
    }

    /// Entries in `[low, high)`, at most about `maxBytes` (always at least one when non-empty).
    /// Throws `.compacted` when `low` is behind the snapshot.
    func entries(from low: LogIndex, to high: LogIndex, maxBytes: Int) throws(StorageError) -> [Entry] {
        guard low < high else { return [] }
        guard low >= firstIndex else { throw .compacted }
        precondition(high <= lastIndex + 1, "entries past the end of the log")
        var result: [Entry] = []
        if low < unstable.offset {
            result = try storage.entries(from: low, to: min(high, unstable.offset), maxBytes: maxBytes)
            // Storage stopped early because of the byte limit: do not add unstable entries after a gap.
            if LogIndex(result.count) < min(high, unstable.offset) - low { return result }
        }
        if high > unstable.offset {
            var bytes = result.reduce(0) { $0 + $1.sizeBytes }
            for entry in unstable.slice(from: max(low, unstable.offset), to: high) {
                bytes += entry.sizeBytes
                if !result.isEmpty && bytes > maxBytes { break }
                result.append(entry)
            }
        }
        return result
    }

    /// Appends entries the leader created (they follow the current last index).
    mutating func append(_ entries: [Entry]) {
        guard let first = entries.first else { return }
        precondition(first.index == lastIndex + 1, "leader append must follow the log")
        precondition(first.index > committed, "cannot overwrite committed entries")
        unstable.truncateAndAppend(entries)
    }

    /// What an AppendEntries did to the log.
    enum AppendOutcome: Equatable {
        /// (`prevIndex`, `prevTerm`) does not match: the follower rejects (§5.3).
        case mismatch
        /// Merged: the index of the last new entry and the first index written (nil when all
        /// were already held).
        case appended(lastNew: LogIndex, firstWritten: LogIndex?)
        /// Not a message a correct leader sends: entries that do not follow `prevIndex` one by
        /// one, or that conflict with committed entries. Nothing changed.
        case refused(String)
    }

    /// AppendEntries consistency check and merge (§5.3).
    mutating func maybeAppend(
        prevIndex: LogIndex, prevTerm: Term, commit: LogIndex, entries: [Entry]
    ) -> AppendOutcome {
        for (offset, entry) in entries.enumerated() where entry.index != prevIndex + 1 + LogIndex(offset) {
            return .refused("entry \(offset) has index \(entry.index), not \(prevIndex + 1 + LogIndex(offset))")
        }
        guard matchTerm(prevIndex, prevTerm) else { return .mismatch }
        let lastNew = prevIndex + LogIndex(entries.count)
        let conflict = firstConflict(in: entries)
        if let conflict {
            // Committed entries are the same on every correct server (§5.4): a leader that
            // says otherwise is not one, and must not rewrite what this server promised.
            guard conflict > committed else {
                return .refused("entry \(conflict) conflicts with the committed log (commit \(committed))")
            }
            unstable.truncateAndAppend(Array(entries[Int(conflict - entries[0].index)...]))
        }
        advanceCommit(to: min(commit, lastNew))
        return .appended(lastNew: lastNew, firstWritten: conflict)
    }

    /// The index of the first entry that is new or whose term differs from ours.
    private func firstConflict(in entries: [Entry]) -> LogIndex? {
        for entry in entries where !matchTerm(entry.index, entry.term) {
            return entry.index
        }
        return nil
    }

    /// Moves the commit index forward (never back).
    mutating func advanceCommit(to index: LogIndex) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) is past the log's end \(lastIndex): log lost?")
        committed = index
    }

    /// Replaces the log with a snapshot from the leader (§7).
    mutating func restore(_ snapshot: Snapshot) {
        committed = snapshot.metadata.index
        unstable.restore(snapshot)
    }

    /// Committed entries not yet handed to the owner, bounded by `maxBytes`; marks them handed.
    mutating func takeEntriesToApply(maxBytes: Int) -> [Entry] {
        if let snapshot = unstable.snapshot { applying = max(applying, snapshot.metadata.index) }
        guard committed > applying else { return [] }
        // Entries before the first index are covered by a snapshot the owner already has.
        let low = max(applying + 1, firstIndex)
        guard let entries = try? entries(from: low, to: committed + 1, maxBytes: maxBytes) else { return [] }
        if let last = entries.last { applying = last.index }
        return entries
    }

    /// Whether committed entries are waiting to be handed out.
    var hasEntriesToApply: Bool {
        committed > max(applying, unstable.snapshot?.metadata.index ?? 0)
    }

    /// The owner applied everything handed out.
    mutating func appliedHandedOut() {
        applied = applying
    }
}
