/// Entries and a snapshot the core holds that are not yet on stable storage.
///
/// `entries[0]` has index `offset`. Anything here may still be replaced by a newer leader's
/// entries; once the owner persists it and calls `advance()`, it moves to `LogStorage`.
struct UnstableLog {
    /// A snapshot received from the leader and not yet persisted.
    var snapshot: Snapshot?
    /// Entries not yet persisted, contiguous from `offset`.
    var entries: [Entry] = []
    /// The index of `entries[0]` (or of the next entry when `entries` is empty).
    var offset: LogIndex

    /// The first index the snapshot makes known, if a snapshot is pending.
    var firstIndex: LogIndex? {
        snapshot.map { $0.metadata.index + 1 }
    }

    /// The last index held here, if any.
    var lastIndex: LogIndex? {
        if !entries.isEmpty { return offset + LogIndex(entries.count) - 1 }
        return snapshot?.metadata.index
    }

    /// The term of `index` if this log knows it.
    func term(at index: LogIndex) -> Term? {
        if index < offset {
            if let snapshot, snapshot.metadata.index == index { return snapshot.metadata.term }
            return nil
        }
        guard let last = lastIndex, index <= last else { return nil }
        return entries[Int(index - offset)].term
    }

    /// Entries `[low, high)`, which must lie within `offset ..< lastIndex + 1`.
    func slice(from low: LogIndex, to high: LogIndex) -> ArraySlice<Entry> {
        precondition(low >= offset && high <= offset + LogIndex(entries.count) && low <= high)
        return entries[Int(low - offset)..<Int(high - offset)]
    }

    /// Entries up to `index` with `term` are durable now: drop them.
    mutating func stable(to index: LogIndex, term: Term) {
        // A newer leader may have replaced that entry since it was handed out; then it is
        // not the one that was persisted, and stays.
        guard let stored = self.term(at: index), stored == term, index >= offset else { return }
        entries.removeFirst(Int(index + 1 - offset))
        offset = index + 1
    }

    /// The snapshot at `index` is durable now.
    mutating func stableSnapshot(at index: LogIndex) {
        if snapshot?.metadata.index == index { snapshot = nil }
    }

    /// Replace everything with a snapshot from the leader.
    mutating func restore(_ snapshot: Snapshot) {
        offset = snapshot.metadata.index + 1
        entries = []
        self.snapshot = snapshot
    }

    /// Append `newEntries`, replacing any held entries at or after their first index.
    mutating func truncateAndAppend(_ newEntries: [Entry]) {
        guard let first = newEntries.first?.index else { return }
        if first == offset + LogIndex(entries.count) {
            entries.append(contentsOf: newEntries)
        } else if first <= offset {
            // The new entries replace part of stable storage too; the owner truncates it when
            // it persists these (Ready step 1).
            offset = first
            entries = newEntries
        } else {
            entries.removeSubrange(Int(first - offset)...)
            entries.append(contentsOf: newEntries)
        }
    }
}
