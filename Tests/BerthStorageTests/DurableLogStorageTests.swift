import BerthRaft
import Foundation
import Testing

@testable import BerthStorage

/// The durable log: what is persisted comes back after a restart, exactly.
@Suite struct DurableLogStorageTests {
    @Test("a new data dir starts from the initial configuration at index 0 with an empty log")
    func newDataDirectory() throws {
        try withTemporaryDirectory { dir in
            let log = try LogFixtures.open(dir)
            #expect(log.recoveryReport.createdNew)
            #expect(log.firstIndex == 1)
            #expect(log.lastIndex == 0)
            #expect(log.initialState() == HardState())
            let snapshot = try log.snapshot()
            #expect(
                snapshot.metadata == SnapshotMetadata(index: 0, term: 0, configuration: LogFixtures.voters))
            #expect(snapshot.data.isEmpty)
            #expect(try log.term(at: 0) == 0)
            #expect(FileManager.default.fileExists(atPath: dir + "/raft/wal"))
            #expect(
                FileManager.default.fileExists(
                    atPath: dir + "/raft/snapshot/0000000000000000-0000000000000000.snap"))

            // Reopening ignores a different initial configuration: the disk decides.
            log.close()
            let reopened = try DurableLogStorage(
                dataDirectory: dir, initialConfiguration: Configuration(voters: [9]))
            #expect(!reopened.recoveryReport.createdNew)
            #expect(try reopened.snapshot().metadata.configuration == LogFixtures.voters)
        }
    }

    @Test("appended entries and hard state read back equal after a restart")
    func appendRestartReadBack() throws {
        try withTemporaryDirectory { dir in
            let entries = LogFixtures.entries(1...12, term: 2)
            let state = HardState(term: 2, vote: 1, commit: 9)
            do {
                let log = try LogFixtures.open(dir)
                var ready = Ready()
                ready.hardState = state
                ready.entries = Array(entries[0..<5])
                try log.persist(ready)
                try log.save(hardState: nil, entries: Array(entries[5...]), snapshot: nil)
                #expect(try LogFixtures.allEntries(log) == entries)
            }
            let log = try LogFixtures.open(dir)
            #expect(log.recoveryReport.tornTail == nil)
            #expect(log.initialState() == state)
            #expect(log.firstIndex == 1)
            #expect(log.lastIndex == 12)
            #expect(try LogFixtures.allEntries(log) == entries)
            #expect(try log.term(at: 12) == 2)
            #expect(throws: StorageError.unavailable) { try log.term(at: 13) }
            // maxBytes stops early but always returns at least one entry.
            #expect(try log.entries(from: 1, to: 13, maxBytes: 0).count == 1)
        }
    }

    @Test("group commit: each persisted Ready costs exactly one WAL fsync, however many entries it carries")
    func oneFsyncPerReady() throws {
        try withTemporaryDirectory { dir in
            let log = try LogFixtures.open(dir)
            let start = log.walSyncCount
            var next: LogIndex = 1
            for (round, batch) in [1, 64, 256].enumerated() {
                var ready = Ready()
                ready.hardState = HardState(term: 1, vote: 1, commit: next - 1)
                ready.entries = LogFixtures.entries(next...(next + LogIndex(batch) - 1), term: 1)
                try log.persist(ready)
                next += LogIndex(batch)
                #expect(log.walSyncCount == start + round + 1)
            }
            // A Ready with nothing durable in it writes nothing.
            try log.persist(Ready())
            #expect(log.walSyncCount == start + 3)
            #expect(log.lastIndex == 321)
        }
    }

    @Test("a Ready that only moves the commit index is written without an fsync; a new term or vote is fsynced")
    func commitOnlyIsNotSynced() throws {
        try withTemporaryDirectory { dir in
            let log = try LogFixtures.open(dir)
            var ready = Ready()
            ready.hardState = HardState(term: 2, vote: 1, commit: 0)
            ready.entries = LogFixtures.entries(1...3, term: 2)
            try log.persist(ready)
            let synced = log.walSyncCount
            var commitOnly = Ready()
            commitOnly.hardState = HardState(term: 2, vote: 1, commit: 3)
            try log.persist(commitOnly)
            #expect(log.walSyncCount == synced)
            #expect(log.hardState.commit == 3)
            var newVote = Ready()
            newVote.hardState = HardState(term: 3, vote: 2, commit: 3)
            try log.persist(newVote)
            #expect(log.walSyncCount == synced + 1)
        }
    }

    @Test("§5.3: overwriting a conflicting suffix survives a restart")
    func truncationSurvivesRestart() throws {
        try withTemporaryDirectory { dir in
            do {
                let log = try LogFixtures.open(dir)
                try log.save(hardState: nil, entries: LogFixtures.entries(1...6, term: 1), snapshot: nil)
                // A new leader of term 2 replaces 4...6 with a shorter suffix.
                try log.save(
                    hardState: HardState(term: 2, vote: 2, commit: 3),
                    entries: [
                        LogFixtures.command(4, term: 2, "new-4"), LogFixtures.command(5, term: 2, "new-5"),
                    ],
                    snapshot: nil)
                #expect(log.lastIndex == 5)
            }
            let log = try LogFixtures.open(dir)
            #expect(log.lastIndex == 5)
            #expect(try log.term(at: 3) == 1)
            #expect(try log.term(at: 4) == 2)
            #expect(
                try log.entries(from: 4, to: 6, maxBytes: .max).map(\.payload) == [
                    .command(Array("new-4".utf8)), .command(Array("new-5".utf8)),
                ])
            // Overwriting at the very first index works too.
            try log.save(
                hardState: nil, entries: [LogFixtures.command(1, term: 3, "only")], snapshot: nil)
            let again = try LogFixtures.open(dir)
            #expect(again.lastIndex == 1)
            #expect(try again.term(at: 1) == 3)
        }
    }

    @Test("§5: the last hard state written wins across restarts")
    func hardStateRoundTrip() throws {
        try withTemporaryDirectory { dir in
            for (term, vote) in [(1, 1), (2, 3), (7, 0)] as [(Term, NodeID)] {
                let log = try LogFixtures.open(dir)
                try log.save(
                    hardState: HardState(term: term, vote: vote, commit: 0), entries: [], snapshot: nil)
                log.close()
                #expect(
                    try LogFixtures.open(dir).initialState() == HardState(term: term, vote: vote, commit: 0))
            }
        }
    }

    @Test("appends that leave a gap or overwrite the snapshot are refused before anything is written")
    func invalidAppends() throws {
        try withTemporaryDirectory { dir in
            let log = try LogFixtures.open(dir)
            try log.save(hardState: nil, entries: LogFixtures.entries(1...3, term: 1), snapshot: nil)
            let size = log.walSizeBytes
            #expect(throws: DurableLogError.invalidAppend(firstNewIndex: 5, firstIndex: 1, lastIndex: 3)) {
                try log.save(hardState: nil, entries: [LogFixtures.command(5, term: 1)], snapshot: nil)
            }
            #expect(throws: DurableLogError.self) {
                try log.save(
                    hardState: nil,
                    entries: [LogFixtures.command(4, term: 1), LogFixtures.command(6, term: 1)],
                    snapshot: nil)
            }
            #expect(log.walSizeBytes == size)
            #expect(log.lastIndex == 3)
        }
    }

    @Test("§7: compaction keeps a tail of entries, shrinks the WAL, and survives a restart")
    func compactionAndRestart() throws {
        try withTemporaryDirectory { dir in
            let entries = LogFixtures.entries(1...40, term: 3)
            let data = Array("state machine at 30".utf8)
            do {
                let log = try LogFixtures.open(dir, retain: 5)
                try log.save(
                    hardState: HardState(term: 3, vote: 1, commit: 35), entries: entries, snapshot: nil)
                let before = log.walSizeBytes
                try log.compact(snapshotAt: 30, configuration: LogFixtures.voters, data: data)
                #expect(log.walSizeBytes < before)
                #expect(log.firstIndex == 26)
                #expect(try log.snapshot().metadata.index == 30)
                #expect(throws: StorageError.compacted) { try log.term(at: 24) }
                #expect(try log.term(at: 25) == 3)
                // Appending after compaction goes on normally.
                try log.save(hardState: nil, entries: LogFixtures.entries(41...42, term: 4), snapshot: nil)
            }
            let log = try LogFixtures.open(dir, retain: 5)
            #expect(log.firstIndex == 26)
            #expect(log.lastIndex == 42)
            #expect(log.initialState() == HardState(term: 3, vote: 1, commit: 35))
            #expect(
                try LogFixtures.allEntries(log) == Array(entries[25...])
                    + LogFixtures.entries(41...42, term: 4))
            let snapshot = try log.snapshot()
            #expect(
                snapshot.metadata == SnapshotMetadata(index: 30, term: 3, configuration: LogFixtures.voters)
            )
            #expect(snapshot.data == data)
            // Only the current snapshot file is left.
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: dir + "/raft/snapshot") == [
                    "000000000000001e-0000000000000003.snap"
                ])
        }
    }

    @Test("§7: compact, then reopen: first index, term at the snapshot index and data come back")
    func snapshotRoundTrip() throws {
        try withTemporaryDirectory { dir in
            let configuration = Configuration(voters: [1, 2, 3], learners: [4])
            do {
                let log = try LogFixtures.open(dir, retain: 0)
                try log.save(
                    hardState: HardState(term: 2, vote: 2, commit: 8),
                    entries: LogFixtures.entries(1...8, term: 2),
                    snapshot: nil)
                try log.compact(snapshotAt: 8, configuration: configuration, data: [0, 1, 2, 255])
                #expect(log.firstIndex == 9)
                #expect(log.lastIndex == 8)
            }
            let log = try LogFixtures.open(dir, retain: 0)
            #expect(log.firstIndex == 9)
            #expect(log.lastIndex == 8)
            #expect(try log.term(at: 8) == 2)
            #expect(
                try log.snapshot()
                    == Snapshot(
                        metadata: SnapshotMetadata(index: 8, term: 2, configuration: configuration),
                        data: [0, 1, 2, 255]))
            // Compacting at or below the snapshot is a no-op; past the commit index is refused.
            try log.compact(snapshotAt: 8, configuration: configuration, data: [])
            #expect(try log.snapshot().data == [0, 1, 2, 255])
            try log.save(hardState: nil, entries: LogFixtures.entries(9...10, term: 2), snapshot: nil)
            #expect(
                throws: DurableLogError.compactionOutOfRange(
                    index: 10, snapshotIndex: 8, commit: 8, lastIndex: 10)
            ) {
                try log.compact(snapshotAt: 10, configuration: configuration, data: [])
            }
        }
    }

    @Test("§7: a follower installing its leader's snapshot persists it and restarts from it")
    func applySnapshotFromLeader() throws {
        try withTemporaryDirectory { dir in
            let snapshot = Snapshot(
                metadata: SnapshotMetadata(
                    index: 50, term: 4, configuration: Configuration(voters: [1, 2])),
                data: Array("leader state".utf8))
            do {
                let log = try LogFixtures.open(dir)
                try log.save(hardState: nil, entries: LogFixtures.entries(1...10, term: 1), snapshot: nil)
                var ready = Ready()
                ready.snapshot = snapshot
                ready.hardState = HardState(term: 4, vote: 0, commit: 50)
                ready.entries = LogFixtures.entries(51...52, term: 4)
                try log.persist(ready)
                #expect(log.firstIndex == 51)
                // An older snapshot is ignored.
                try log.applySnapshot(
                    Snapshot(
                        metadata: SnapshotMetadata(index: 20, term: 1, configuration: LogFixtures.voters),
                        data: []))
                #expect(try log.snapshot() == snapshot)
            }
            let log = try LogFixtures.open(dir)
            #expect(try log.snapshot() == snapshot)
            #expect(log.firstIndex == 51)
            #expect(log.lastIndex == 52)
            #expect(try log.term(at: 50) == 4)
            #expect(log.initialState() == HardState(term: 4, vote: 0, commit: 50))
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: dir + "/raft/snapshot").count == 1)
        }
    }

    @Test(
        "a random history of appends, overwrites, hard states, compactions and snapshots reads the same as MemoryStorage, before and after restarts"
    )
    func matchesMemoryStorage() throws {
        try withTemporaryDirectory { dir in
            var rng = SystemRandomNumberGenerator()
            let seed = UInt64.random(in: 0...UInt64.max, using: &rng)
            var random = SeededRandom(seed: seed)
            let reference = MemoryStorage(configuration: LogFixtures.voters)
            var log = try LogFixtures.open(dir, retain: 3)
            var term: Term = 1
            for step in 0..<150 {
                let choice = random.next() % 100
                if choice < 55 {
                    // Append, sometimes overwriting a suffix.
                    // Committed entries (and those in the snapshot) are never overwritten (§5.4).
                    let floor = max(reference.hardState.commit, try reference.snapshot().metadata.index)
                    let last = reference.lastIndex
                    let overwrite = choice < 15 && last > floor ? 1 + random.next() % (last - floor) : 0
                    let start = last + 1 - overwrite
                    if overwrite > 0 { term += 1 }
                    let count = 1 + random.next() % 4
                    let batch = LogFixtures.entries(start...(start + count - 1), term: term)
                    reference.append(batch)
                    try log.save(hardState: nil, entries: batch, snapshot: nil)
                } else if choice < 70 {
                    let state = HardState(term: term, vote: random.next() % 4, commit: reference.lastIndex)
                    reference.setHardState(state)
                    try log.save(hardState: state, entries: [], snapshot: nil)
                } else if choice < 82 {
                    let commit = min(reference.hardState.commit, reference.lastIndex)
                    let snapshotIndex = try reference.snapshot().metadata.index
                    if commit > snapshotIndex {
                        let at = snapshotIndex + 1 + random.next() % (commit - snapshotIndex)
                        let data = Array("s\(step)".utf8)
                        reference.compact(
                            snapshotAt: at, configuration: LogFixtures.voters, data: data, retainEntries: 3)
                        try log.compact(snapshotAt: at, configuration: LogFixtures.voters, data: data)
                    }
                } else if choice < 87 {
                    term += 1
                    let at = reference.lastIndex + 1 + random.next() % 5
                    let snapshot = Snapshot(
                        metadata: SnapshotMetadata(index: at, term: term, configuration: LogFixtures.voters),
                        data: Array("leader\(step)".utf8))
                    reference.applySnapshot(snapshot)
                    try log.applySnapshot(snapshot)
                } else {
                    log.close()
                    log = try LogFixtures.open(dir, retain: 3)
                    #expect(!log.recoveryReport.repairedDamage, "seed \(seed)")
                }
                try expectSameReads(log, reference, "seed \(seed) step \(step)")
            }
        }
    }

    private func expectSameReads(
        _ log: DurableLogStorage, _ reference: MemoryStorage, _ context: String
    ) throws {
        #expect(log.firstIndex == reference.firstIndex, "\(context)")
        #expect(log.lastIndex == reference.lastIndex, "\(context)")
        #expect(log.initialState() == reference.initialState(), "\(context)")
        #expect(try log.snapshot() == reference.snapshot(), "\(context)")
        #expect(try LogFixtures.allEntries(log) == LogFixtures.allEntries(reference), "\(context)")
        #expect(
            try log.term(at: log.firstIndex - 1) == reference.term(at: reference.firstIndex - 1),
            "\(context)")
    }
}

/// SplitMix64, so a failing history can be replayed from its printed seed.
struct SeededRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
