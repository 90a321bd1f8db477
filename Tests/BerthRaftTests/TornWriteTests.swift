import Testing

@testable import BerthRaft

/// A power loss in the middle of a write leaves a prefix of its records durable, in the order
/// `Ready` documents and the server's WAL writes them: snapshot, hard state, entries. Whatever
/// prefix survives, a restarted server must never apply an entry that was not committed.
@Suite struct TornWriteTests {
    @Test("§5.4.3 with a torn write: a commit index never covers stable entries that its own Ready replaces")
    func hardStateWithoutItsEntriesCommitsNothingStale() throws {
        let storage = MemoryStorage(configuration: Configuration(voters: [1, 2, 3]))
        storage.append([
            Entry(term: 1, index: 1, payload: .command([1])),
            Entry(term: 1, index: 2, payload: .command([0xAA])),
            Entry(term: 1, index: 3, payload: .command([0xAB])),
        ])
        storage.setHardState(HardState(term: 1, vote: 1, commit: 1))
        let node = RaftNode(config: RaftConfig(id: 2, randomSeed: 1), storage: storage)
        // The leader of term 2 replaces index 2 and says it is committed.
        let replacement = Entry(term: 2, index: 2, payload: .command([0xBB]))
        node.step(
            Message(
                from: 3, to: 2, term: 2,
                body: .appendEntries(AppendEntries(prevIndex: 1, prevTerm: 1, entries: [replacement], commit: 2))))
        let ready = node.ready()
        #expect(ready.entries.first == replacement)
        // The power goes after the hard state record, before the entry: recover as the server
        // does (a commit past the log's end is lowered to it) and restart.
        let disk = storage.copy()
        if var hardState = ready.hardState {
            hardState.commit = min(hardState.commit, disk.lastIndex)
            disk.setHardState(hardState)
        }
        let restarted = RaftNode(config: RaftConfig(id: 2, randomSeed: 1), storage: disk)
        let applied = restarted.hasReady ? restarted.ready().committedEntries : []
        #expect(
            !applied.contains { $0.index >= 2 && $0.term == 1 },
            "the restarted server applied a stale entry the leader had replaced: \(applied)")
    }
}
