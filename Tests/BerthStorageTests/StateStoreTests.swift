import BerthControlPlane
import BerthRaft
import Foundation
import GRDB
import Testing

@testable import BerthStorage

/// The replicated state machine: deterministic, exactly-once applies, and the jobs API queries.
@Suite struct StateStoreTests {
    private static let t0: Int64 = 1_800_000_000_000
    private static let hourMs: Int64 = 60 * 60 * 1_000

    private func create(
        _ id: String, _ command: String = "echo hi", at ms: Int64 = t0, key: String? = nil
    ) -> StateCommand {
        .createJob(.init(id: id, command: command, createdAtMs: ms, idempotencyKey: key))
    }

    private func store(_ dir: String) throws -> StateStore {
        try StateStore(layout: StorageLayout(dataDirectory: dir))
    }

    @Test("the database is in WAL mode with synchronous=NORMAL (the Raft log is the durable record)")
    func pragmas() throws {
        try withTemporaryDirectory { dir in
            let state = try store(dir)
            let (mode, synchronous) = try state.writer.write { db in
                (
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                    try Int.fetchOne(db, sql: "PRAGMA synchronous")
                )
            }
            #expect(mode == "wal")
            #expect(synchronous == 1)
            #expect(FileManager.default.fileExists(atPath: dir + "/state/berth.sqlite"))
        }
    }

    @Test("applying an index at or below last_applied is a no-op; a gap is refused")
    func applyIsIdempotentByIndex() throws {
        try withTemporaryDirectory { dir in
            let state = try store(dir)
            let first = try state.apply(index: 1, term: 1, command: create("a"))
            guard case .applied(1, .jobCreated(let job)) = first else {
                Issue.record("unexpected \(first)")
                return
            }
            #expect(
                job
                    == JobRecord(
                        id: "a", command: "echo hi", status: .pending, createdAtMs: Self.t0,
                        updatedAtMs: Self.t0, runID: "a-run-1", runCount: 1))
            // The same index again (a restart replaying the log), even with another command.
            #expect(try state.apply(index: 1, term: 1, command: create("b")) == .alreadyApplied(index: 1))
            #expect(try state.job(id: "b") == nil)
            #expect(try state.lastApplied() == AppliedPosition(index: 1, term: 1))
            #expect(throws: StateStoreError.applyGap(lastApplied: 1, index: 3)) {
                try state.apply(index: 3, term: 1, command: .noop)
            }
            #expect(try state.lastApplied().index == 1)
        }
    }

    @Test("a restart keeps last_applied and the data; replayed entries are skipped")
    func restartKeepsLastApplied() throws {
        try withTemporaryDirectory { dir in
            do {
                let state = try store(dir)
                for i in 1...3 {
                    _ = try state.apply(index: LogIndex(i), term: 2, command: create("job-\(i)"))
                }
            }
            // A snapshot copy a crash left behind is cleaned up on open.
            let leftover = dir + "/state/.berth.sqlite.snapshot-0000.tmp"
            writeFile(leftover, [1, 2, 3])
            let state = try store(dir)
            #expect(!FileManager.default.fileExists(atPath: leftover))
            #expect(try state.lastApplied() == AppliedPosition(index: 3, term: 2))
            #expect(try state.listJobs(JobQuery()).totalCount == 3)
            #expect(
                try state.apply(index: 2, term: 2, command: create("other")) == .alreadyApplied(index: 2))
            #expect(
                try state.apply(index: 4, term: 3, command: .noop) == .applied(index: 4, outcome: .noop))
        }
    }

    @Test(
        "log entries apply in one batch: commands decoded, empty and config entries advance the index, garbage is rejected the same everywhere"
    )
    func applyEntries() throws {
        let state = try StateStore.inMemory()
        let results = try state.apply([
            Entry(term: 1, index: 1, payload: .empty),
            Entry(term: 1, index: 2, payload: .command(create("x").encoded())),
            Entry(term: 1, index: 3, payload: .configChange(.addLearner(4, incarnation: .initial))),
            Entry(term: 1, index: 4, payload: .command(Array("not json".utf8))),
        ])
        #expect(results.map(\.index) == [1, 2, 3, 4])
        #expect(results[0] == .applied(index: 1, outcome: .noop))
        #expect(results[2] == .applied(index: 3, outcome: .noop))
        #expect(results[3] == .applied(index: 4, outcome: .rejected(.malformedCommand)))
        #expect(try state.job(id: "x")?.status == .pending)
        #expect(try state.lastApplied() == AppliedPosition(index: 4, term: 1))
    }

    @Test("an Idempotency-Key is bound to its first request: another request with it is refused with 422")
    func idempotencyKeyBoundToRequest() throws {
        let state = try StateStore.inMemory()
        func create(_ id: String, hash: UInt64, key: String = "K") -> StateCommand {
            .createJob(.init(id: id, command: "echo", createdAtMs: Self.t0, idempotencyKey: key, requestHash: hash))
        }
        let first = try state.apply(index: 1, term: 1, command: create("a", hash: 11))
        #expect(
            try state.apply(index: 2, term: 1, command: create("b", hash: 11))
                == .replayed(index: 2, outcome: first.outcome!))
        let reused = try state.apply(index: 3, term: 1, command: create("c", hash: 12))
        #expect(reused == .applied(index: 3, outcome: .rejected(.idempotencyKeyReused(key: "K"))))
        #expect(reused.outcome?.httpStatus == 422)
        #expect(try state.job(id: "c") == nil)
        // The refusal changed nothing: the first request still replays its answer.
        #expect(
            try state.apply(index: 4, term: 1, command: create("d", hash: 11))
                == .replayed(index: 4, outcome: first.outcome!))
        // A key stored before requests had fingerprints (hash 0) is not checked.
        let unbound = try state.apply(index: 5, term: 1, command: create("e", hash: 0, key: "old"))
        let later = try state.apply(index: 6, term: 1, command: create("f", hash: 99, key: "old"))
        #expect(later == .replayed(index: 6, outcome: unbound.outcome!))
    }

    @Test("commands keep their request hash through the log's binary form; the older form without it still reads")
    func requestHashInBinaryForm() {
        let create = StateCommand.createJob(
            .init(id: "x", command: "c", createdAtMs: 5, idempotencyKey: "k", requestHash: 0xDEAD_BEEF))
        #expect(StateCommand(encoded: create.encoded()) == create)
        let cancel = StateCommand.cancelJob(.init(id: "x", atMs: 5, idempotencyKey: nil, requestHash: 3))
        #expect(StateCommand(encoded: cancel.encoded()) == cancel)
        // Format 0xB1: the same fields without the trailing hash.
        var older = cancel.encoded()
        older[0] = 0xB1
        older.removeLast(8)
        #expect(
            StateCommand(encoded: older) == .cancelJob(.init(id: "x", atMs: 5, idempotencyKey: nil, requestHash: 0)))
    }

    @Test(
        "§4: the same Idempotency-Key within 24 h returns the first answer instead of applying twice")
    func idempotencyKey() throws {
        let state = try StateStore.inMemory()
        let first = try state.apply(index: 1, term: 1, command: create("first", at: Self.t0, key: "K"))
        // A retry after a failover: the new leader stamped a new id and time.
        let retry = try state.apply(
            index: 2, term: 2, command: create("second", at: Self.t0 + Self.hourMs, key: "K"))
        #expect(retry == .replayed(index: 2, outcome: first.outcome!))
        #expect(try state.job(id: "second") == nil)
        #expect(try state.listJobs(JobQuery()).totalCount == 1)
        #expect(try state.lastApplied().index == 2)
        // After 24 h the key is forgotten.
        let later = try state.apply(
            index: 3, term: 2, command: create("third", at: Self.t0 + 25 * Self.hourMs, key: "K"))
        guard case .applied(_, .jobCreated(let job)) = later else {
            Issue.record("unexpected \(later)")
            return
        }
        #expect(job.id == "third")
        // A rejection is an answer too: a retried cancel of a finished job answers the same.
        let cancel = StateCommand.cancelJob(
            .init(id: "nope", atMs: Self.t0 + 26 * Self.hourMs, idempotencyKey: "C"))
        let answer = try state.apply(index: 4, term: 2, command: cancel)
        #expect(answer.outcome == .rejected(.jobNotFound(id: "nope")))
        #expect(
            try state.apply(index: 5, term: 2, command: cancel)
                == .replayed(index: 5, outcome: answer.outcome!))
    }

    @Test("a create retried under the name its node gave it answers as the first one and creates nothing")
    func createRetriedByName() throws {
        let state = try StateStore.inMemory()
        let first = try state.apply(index: 1, term: 1, command: create("a"))
        let retry = try state.apply(index: 2, term: 2, command: create("a"))
        #expect(retry.outcome == first.outcome)
        #expect(try state.listJobs(JobQuery()).totalCount == 1)
    }

    @Test(
        "cancel, start and finish follow the job lifecycle; refusals carry stable codes and statuses")
    func jobLifecycle() throws {
        let state = try StateStore.inMemory()
        _ = try state.apply(index: 1, term: 1, command: create("a"))
        _ = try state.apply(index: 2, term: 1, command: create("b"))
        // The same name with another command is another job: refused.
        #expect(
            try state.apply(
                index: 3, term: 1,
                command: .createJob(.init(id: "a", command: "something else", createdAtMs: Self.t0))
            ).outcome == .rejected(.jobAlreadyExists(id: "a")))
        let started = try state.apply(
            index: 4, term: 1, command: .startJob(.init(id: "a", executedBy: "node-2", atMs: Self.t0 + 5))
        )
        #expect(started.outcome == .jobUpdated(job: try #require(try state.job(id: "a"))))
        let finished = try state.apply(
            index: 5, term: 1,
            command: .finishJob(.init(id: "a", succeeded: true, output: "hi\n", atMs: Self.t0 + 9)))
        guard case .jobUpdated(let job) = finished.outcome else {
            Issue.record("unexpected \(finished)")
            return
        }
        #expect(job.status == .completed)
        #expect(job.executedBy == "node-2")
        #expect(job.output == "hi\n")
        #expect(job.updatedAtMs == Self.t0 + 9)

        let cancelDone = try state.apply(
            index: 6, term: 1, command: .cancelJob(.init(id: "a", atMs: Self.t0 + 10)))
        let rejection = CommandRejection.jobAlreadyTerminal(id: "a", status: .completed)
        #expect(cancelDone.outcome == .rejected(rejection))
        #expect(rejection.httpStatus == 400)
        #expect(rejection.message == "job is already completed")
        let cancelled = try state.apply(
            index: 7, term: 1, command: .cancelJob(.init(id: "b", atMs: Self.t0 + 11)))
        #expect(cancelled.outcome?.httpStatus == 200)
        #expect(try state.job(id: "b")?.status == .cancelled)
        let missing = try state.apply(
            index: 8, term: 1, command: .cancelJob(.init(id: "zz", atMs: Self.t0)))
        #expect(missing.outcome?.httpStatus == 404)
        let illegal = try state.apply(
            index: 9, term: 1, command: .startJob(.init(id: "b", executedBy: "n", atMs: Self.t0)))
        #expect(
            illegal.outcome == .rejected(.illegalTransition(id: "b", from: .cancelled, to: .running)))
    }

    @Test("commands round-trip through their encoded bytes")
    func commandEncoding() throws {
        let commands: [StateCommand] = [
            create("a", "ls", key: "k"),
            .createJob(.init(id: "i", command: "python3", image: "python:3.12-alpine", createdAtMs: 5)),
            .cancelJob(.init(id: "a", atMs: 7, idempotencyKey: nil)),
            .startJob(.init(id: "a", executedBy: "arm-01", atMs: 8)),
            .finishJob(.init(id: "a", succeeded: false, error: "exit 1", atMs: 9)),
            .noop,
        ]
        for command in commands + [.setMember(.init(nodeID: 4, peerAddress: "10.0.0.4:8201", httpAddress: "h:1"))] {
            let bytes = command.encoded()
            #expect(StateCommand(encoded: bytes) == command)
            // Entries written before the binary form are still read.
            #expect(StateCommand(encoded: command.jsonEncoded()) == command)
            // Every truncation, and one byte too many, is refused rather than misread.
            for length in 0..<bytes.count {
                #expect(StateCommand(encoded: Array(bytes.prefix(length))) == nil)
            }
            #expect(StateCommand(encoded: bytes + [0]) == nil)
        }
        #expect(String(decoding: StateCommand.noop.jsonEncoded(), as: UTF8.self) == #"{"type":"noop"}"#)
        #expect(StateCommand(encoded: Array("{}".utf8)) == nil)
        #expect(StateCommand(encoded: [0xB1, 99]) == nil)
        // A string that is not UTF-8.
        #expect(StateCommand(encoded: [0xB1, 3, 1, 0, 0, 0, 0xFF, 1, 0, 0, 0, 0x61, 0, 0, 0, 0, 0, 0, 0, 0]) == nil)
        #expect(StateCommand(encoded: [0xB1, 3, 1, 0, 0, 0, 0x62, 1, 0, 0, 0, 0x61, 0, 0, 0, 0, 0, 0, 0, 0]) != nil)
    }

    /// 25 jobs: created one second apart, every third running on "w1", commands alternating case.
    /// Returns the last index applied.
    @discardableResult
    private func populate(_ state: StateStore) throws -> LogIndex {
        var index: LogIndex = 0
        for i in 0..<25 {
            index += 1
            let command = i.isMultiple(of: 2) ? "Echo \(i)" : "sleep \(i)"
            let id = String(format: "job-%02d", i)
            _ = try state.apply(
                index: index, term: 1,
                command: create(id, command, at: Self.t0 + Int64(i) * 1_000, key: "key-\(i)"))
            if i.isMultiple(of: 3) {
                index += 1
                _ = try state.apply(
                    index: index, term: 1,
                    command: .startJob(.init(id: id, executedBy: "w1", atMs: Self.t0 + 100_000)))
            }
        }
        return index
    }

    private func seededStore() throws -> StateStore {
        let state = try StateStore.inMemory()
        try populate(state)
        return state
    }

    @Test(
        "keyset pagination walks every job once, oldest first, with the filtered total on every page")
    func pagination() throws {
        let state = try seededStore()
        var seen: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try state.listJobs(JobQuery(pageSize: 10, pageToken: token))
            #expect(page.totalCount == 25)
            seen += page.jobs.map(\.id)
            token = page.nextPageToken
            pages += 1
        } while token != nil
        #expect(pages == 3)
        #expect(seen == (0..<25).map { String(format: "job-%02d", $0) })
        #expect(try state.listJobs(JobQuery(pageSize: 25)).nextPageToken == nil)
        #expect(JobQuery(pageSize: 5_000).effectivePageSize == 1_000)
        #expect(JobQuery(pageSize: 0).effectivePageSize == 100)
        #expect(throws: StateStoreError.invalidPageToken("garbage!")) {
            try state.listJobs(JobQuery(pageToken: "garbage!"))
        }
    }

    @Test(
        "filters: status, command substring ignoring case, created range (inclusive), worker — combined, with pagination"
    )
    func filters() throws {
        let state = try seededStore()
        #expect(try state.listJobs(JobQuery(status: .running)).totalCount == 9)
        #expect(try state.listJobs(JobQuery(status: .pending)).totalCount == 16)
        #expect(
            try state.listJobs(JobQuery(executedBy: "w1")).jobs.allSatisfy { $0.executedBy == "w1" })
        let echoes = try state.listJobs(JobQuery(commandContains: "eCHo"))
        #expect(echoes.totalCount == 13)
        #expect(echoes.jobs.allSatisfy { $0.command.hasPrefix("Echo") })
        let range = try state.listJobs(
            JobQuery(createdAfterMs: Self.t0 + 5_000, createdBeforeMs: Self.t0 + 9_000))
        #expect(range.jobs.map(\.id) == ["job-05", "job-06", "job-07", "job-08", "job-09"])
        // Combined: running echo jobs (even and a multiple of 3: 0, 6, 12, 18, 24), two per page.
        var ids: [String] = []
        var token: String?
        repeat {
            let page = try state.listJobs(
                JobQuery(
                    status: .running, commandContains: "echo", executedBy: "w1", pageSize: 2, pageToken: token
                ))
            #expect(page.totalCount == 5)
            ids += page.jobs.map(\.id)
            token = page.nextPageToken
        } while token != nil
        #expect(ids == ["job-00", "job-06", "job-12", "job-18", "job-24"])
        // A substring with LIKE wildcards is matched literally.
        #expect(try state.listJobs(JobQuery(commandContains: "%")).totalCount == 0)
    }

    @Test("§7: snapshot → restore into a fresh store gives equal query results and last_applied")
    func snapshotRestore() throws {
        try withTemporaryDirectory { dir in
            let source = try store(dir + "/a")
            let last = try populate(source)
            let snapshot = try source.snapshotData()
            #expect(snapshot.applied == AppliedPosition(index: last, term: 1))
            #expect(Array(snapshot.data.prefix(6)) == Array("SQLite".utf8))

            let target = try store(dir + "/b")
            _ = try target.apply(index: 1, term: 1, command: create("doomed"))
            #expect(try target.restore(from: snapshot.data) == snapshot.applied)
            #expect(try target.job(id: "doomed") == nil)
            let queries = [
                JobQuery(), JobQuery(status: .running), JobQuery(commandContains: "echo", pageSize: 3),
                JobQuery(
                    createdAfterMs: Self.t0 + 3_000, createdBeforeMs: Self.t0 + 20_000, executedBy: "w1"),
            ]
            for query in queries {
                #expect(try target.listJobs(query) == source.listJobs(query))
            }
            // The idempotency keys came along: a retry on the restored node answers the same.
            let retry = create("job-99", at: Self.t0 + 50_000, key: "key-3")
            #expect(
                try target.apply(index: last + 1, term: 2, command: retry)
                    == source.apply(index: last + 1, term: 2, command: retry))
            // Still WAL and FULL, and it all survives reopening.
            #expect(
                try target.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
            let reopened = try store(dir + "/b")
            #expect(try reopened.lastApplied() == AppliedPosition(index: last + 1, term: 2))
            #expect(try reopened.listJobs(JobQuery()) == source.listJobs(JobQuery()))
            // No temporary files are left behind.
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: dir + "/b/state").filter {
                    $0.hasPrefix(".")
                }.isEmpty)
        }
    }

    @Test("an in-memory store snapshots too, and restores into a file store")
    func inMemorySnapshot() throws {
        try withTemporaryDirectory { dir in
            let source = try seededStore()
            let snapshot = try source.snapshotData()
            let target = try store(dir)
            try target.restore(from: snapshot.data)
            #expect(
                try target.listJobs(JobQuery(pageSize: 1_000)) == source.listJobs(JobQuery(pageSize: 1_000))
            )
        }
    }

    @Test("bytes that are not a state database are refused and the store is unchanged")
    func invalidSnapshot() throws {
        let state = try seededStore()
        let before = try state.listJobs(JobQuery())
        let error = #expect(throws: StateStoreError.self) {
            try state.restore(from: Array("hello".utf8))
        }
        #expect(error?.code == "STATE_SNAPSHOT_INVALID")
        var damaged = try state.snapshotData().data
        for i in stride(from: 200, to: damaged.count, by: 97) { damaged[i] ^= 0x5A }
        #expect(throws: StateStoreError.self) { try state.restore(from: damaged) }
        #expect(try state.listJobs(JobQuery()) == before)
    }

    @Test("restoreIfBehind brings a store up to the Raft snapshot only when it is behind")
    func restoreIfBehind() throws {
        let leader = try seededStore()
        let image = try leader.snapshotData()
        let raftSnapshot = Snapshot(
            metadata: SnapshotMetadata(
                index: image.applied.index, term: 1, configuration: Configuration(voters: [1])),
            data: image.data)
        let follower = try StateStore.inMemory()
        #expect(try follower.restoreIfBehind(raftSnapshot))
        #expect(try follower.lastApplied() == image.applied)
        #expect(try !follower.restoreIfBehind(raftSnapshot))
        var wrong = raftSnapshot
        wrong.metadata.index += 5
        #expect(throws: StateStoreError.self) { try StateStore.inMemory().restoreIfBehind(wrong) }
        // A copy made after the snapshot's index (sent later) is accepted: it is only newer.
        var older = raftSnapshot
        older.metadata.index -= 1
        #expect(try StateStore.inMemory().restoreIfBehind(older))
    }

    @Test("a log compacted against the database (no copy) cannot rebuild a store that lost it: a clear error")
    func compactedWithoutCopy() throws {
        let reference = Snapshot(
            metadata: SnapshotMetadata(index: 40, term: 2, configuration: Configuration(voters: [1])), data: [])
        let store = try StateStore.inMemory()
        #expect {
            try store.restoreIfBehind(reference)
        } throws: { error in
            guard case StateStoreError.invalidSnapshot(let reason) = error else { return false }
            return reason.contains("remove the data directory")
        }
        // At or past the index, there is nothing to restore.
        _ = try store.apply(index: 1, term: 1, command: .noop)
        var met = reference
        met.metadata.index = 1
        #expect(try !store.restoreIfBehind(met))
    }

    @Test("syncToDisk flushes the database files of an on-disk store (and is a no-op in memory)")
    func syncToDisk() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-sync-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try StateStore(path: directory.appendingPathComponent("state.sqlite").path)
        _ = try store.apply(index: 1, term: 1, command: create("a"))
        try store.syncToDisk()
        try StateStore.inMemory().syncToDisk()
    }
}

@Suite struct CommandOutcomeEncodingTests {
    @Test("every outcome survives its stored binary form; the older JSON form still reads; bad bytes are nil")
    func roundTrip() throws {
        let job = JobRecord(
            id: "j", command: "echo é", image: nil, status: .running, createdAtMs: -5, updatedAtMs: 9,
            executedBy: "n2", output: nil, error: "x")
        let outcomes: [CommandOutcome] = [
            .jobCreated(job: job), .jobCancelled(job: job), .jobUpdated(job: job), .noop,
            .memberRecorded(member: MemberRecord(nodeID: .max, peerAddress: "a:1", httpAddress: "b:2")),
            .rejected(.jobNotFound(id: "a")), .rejected(.jobAlreadyExists(id: "b")),
            .rejected(.jobAlreadyTerminal(id: "c", status: .cancelled)),
            .rejected(.illegalTransition(id: "d", from: .pending, to: .completed)), .rejected(.malformedCommand),
            .rejected(.idempotencyKeyReused(key: "k")),
        ]
        for outcome in outcomes {
            let bytes = outcome.encoded()
            #expect(CommandOutcome(encoded: bytes) == outcome)
            #expect(CommandOutcome(encoded: bytes + [0]) == nil)
            #expect(CommandOutcome(encoded: Array(bytes.dropLast())) == nil || bytes.count == 2)
            #expect(CommandOutcome(encoded: Array(try JSONEncoder().encode(outcome))) == outcome)
        }
        #expect(CommandOutcome(encoded: []) == nil)
        #expect(CommandOutcome(encoded: [0xC1, 99]) == nil)
    }
}

@Suite struct ReceivedSnapshotRestoreTests {
    @Test("a snapshot received into a file and persisted without data is restored from the file at startup")
    func restoreFromReceivedFile() throws {
        let base = NSTemporaryDirectory() + "berth-received-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let layout = StorageLayout(dataDirectory: base)
        // The leader's state: a few jobs, copied to a file as it would be sent.
        let leader = try StateStore(path: base + "-leader.sqlite")
        defer { try? FileManager.default.removeItem(atPath: base + "-leader.sqlite") }
        for index: LogIndex in 1...5 {
            _ = try leader.apply(
                index: index, term: 1, command: .createJob(.init(id: "j\(index)", command: "c", createdAtMs: 1)))
        }
        let copy = try leader.snapshotFile()
        try FileManager.default.createDirectory(
            atPath: layout.incomingSnapshotDirectory, withIntermediateDirectories: true)
        let received = IncomingSnapshot.path(in: layout.incomingSnapshotDirectory, index: 5, term: 1)
        try FileManager.default.moveItem(atPath: copy.path, toPath: received)
        // The follower persisted the snapshot without data and stopped before restoring.
        try FileManager.default.createDirectory(atPath: layout.stateDirectory, withIntermediateDirectories: true)
        let follower = try StateStore(layout: layout)
        let persisted = Snapshot(
            metadata: SnapshotMetadata(index: 5, term: 1, configuration: Configuration(voters: [1])), data: [])
        #expect(try follower.restoreIfBehind(persisted, incomingDirectory: layout.incomingSnapshotDirectory))
        #expect(try follower.lastApplied().index == 5)
        #expect(try follower.job(id: "j3") != nil)
    }
}
