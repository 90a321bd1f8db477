import BerthRaft
import Foundation
import Testing

@testable import BerthStorage

/// Crash safety on open: a torn tail is cut back and reported, damage in the middle refuses to
/// start, and nothing is ever dropped silently (docs/storage.md, "Recovery").
@Suite struct WALRecoveryTests {
    /// Writes `count` entries, one persist (one record) each, and returns the WAL's bytes, the
    /// offset where each entry's record starts, and the entries.
    private func writeRecords(_ dir: String, count: Int) throws -> (
        bytes: [UInt8], starts: [Int], entries: [Entry]
    ) {
        let log = try LogFixtures.open(dir)
        let entries = LogFixtures.entries(1...LogIndex(count), term: 1)
        var starts: [Int] = []
        for entry in entries {
            starts.append(log.walSizeBytes)
            try log.save(hardState: nil, entries: [entry], snapshot: nil)
        }
        log.close()
        return (readFile(dir + "/raft/wal"), starts, entries)
    }

    @Test(
        "kill point: the WAL cut at every byte of its last record opens, without that record and with everything before intact"
    )
    func everyCutOfTheLastRecord() throws {
        try withTemporaryDirectory { dir in
            let wal = dir + "/raft/wal"
            let (bytes, starts, entries) = try writeRecords(dir, count: 6)
            let lastStart = starts.last!
            #expect(bytes.count - lastStart > 20)
            for cut in lastStart..<bytes.count {
                writeFile(wal, Array(bytes[..<cut]))
                let log = try LogFixtures.open(dir)
                #expect(log.lastIndex == 5, "cut at \(cut)")
                #expect(try LogFixtures.allEntries(log) == Array(entries[0..<5]), "cut at \(cut)")
                if cut == lastStart {
                    #expect(log.recoveryReport.tornTail == nil)
                } else {
                    #expect(
                        log.recoveryReport.tornTail
                            == TornTail(offset: lastStart, droppedBytes: cut - lastStart, reason: .partialRecord),
                        "cut at \(cut)")
                }
                #expect(fileSize(wal) == lastStart, "the torn tail is cut off on disk (cut at \(cut))")
                log.close()
            }
            // Appending after a repaired tail continues from the last whole record.
            let log = try LogFixtures.open(dir)
            try log.save(hardState: nil, entries: [LogFixtures.command(6, term: 2)], snapshot: nil)
            log.close()
            #expect(try LogFixtures.open(dir).term(at: 6) == 2)
        }
    }

    @Test("kill point: a whole last record with a bad checksum is a torn tail")
    func badChecksumOnLastRecord() throws {
        try withTemporaryDirectory { dir in
            let wal = dir + "/raft/wal"
            let (bytes, starts, entries) = try writeRecords(dir, count: 4)
            var damaged = bytes
            damaged[damaged.count - 1] ^= 0x01
            writeFile(wal, damaged)
            let log = try LogFixtures.open(dir)
            #expect(log.recoveryReport.tornTail?.reason == .checksumMismatch)
            #expect(log.recoveryReport.tornTail?.offset == starts.last!)
            #expect(try LogFixtures.allEntries(log) == Array(entries[0..<3]))
            #expect(log.recoveryReport.description.contains("checksum_mismatch"))
        }
    }

    @Test(
        "kill point: flipping any byte of a middle record refuses to start, naming the offset, and leaves the file alone"
    )
    func flippedByteInTheMiddle() throws {
        try withTemporaryDirectory { dir in
            let wal = dir + "/raft/wal"
            let (bytes, starts, _) = try writeRecords(dir, count: 5)
            let middleStart = starts[2]
            let middleEnd = starts[3]
            for position in middleStart..<middleEnd {
                var damaged = bytes
                damaged[position] ^= 0xFF
                writeFile(wal, damaged)
                #expect(
                    throws: DurableLogError.corruptRecord(
                        path: wal, offset: middleStart, nextValidOffset: middleEnd),
                    "flip at \(position)"
                ) {
                    try LogFixtures.open(dir)
                }
                #expect(readFile(wal) == damaged, "a refused open changes nothing (flip at \(position))")
            }
            let error = DurableLogError.corruptRecord(
                path: wal, offset: middleStart, nextValidOffset: middleEnd)
            #expect(error.code == "WAL_CORRUPT_RECORD")
            #expect(error.message.contains("offset \(middleStart)"))
        }
    }

    @Test("kill point: trailing zeros (space allocated, data never written) are a torn tail")
    func trailingZeros() throws {
        try withTemporaryDirectory { dir in
            let wal = dir + "/raft/wal"
            let (bytes, _, entries) = try writeRecords(dir, count: 3)
            writeFile(wal, bytes + [UInt8](repeating: 0, count: 4096))
            let log = try LogFixtures.open(dir)
            #expect(
                log.recoveryReport.tornTail
                    == TornTail(offset: bytes.count, droppedBytes: 4096, reason: .trailingZeros))
            #expect(try LogFixtures.allEntries(log) == entries)
            #expect(fileSize(wal) == bytes.count)
            log.close()

            // A half-written last record padded with zeros is a torn tail too. (Cut 10 bytes: the
            // record ends in a node id whose high bytes are zero anyway.)
            writeFile(wal, Array(bytes.dropLast(10)) + [UInt8](repeating: 0, count: 512))
            let again = try LogFixtures.open(dir)
            #expect(again.recoveryReport.tornTail != nil)
            #expect(try LogFixtures.allEntries(again) == Array(entries[0..<2]))
        }
    }

    @Test(
        "kill point: a commit index whose entries were in the torn tail is lowered to the log's end, durably"
    )
    func commitPastTheTornTail() throws {
        try withTemporaryDirectory { dir in
            let wal = dir + "/raft/wal"
            do {
                let log = try LogFixtures.open(dir)
                try log.save(
                    hardState: HardState(term: 1, vote: 1, commit: 3),
                    entries: LogFixtures.entries(1...4, term: 1), snapshot: nil)
                // One Ready: the hard state (commit 5) then entry 5, as Ready's order says.
                try log.save(
                    hardState: HardState(term: 1, vote: 1, commit: 5),
                    entries: [LogFixtures.command(5, term: 1)], snapshot: nil)
            }
            writeFile(wal, Array(readFile(wal).dropLast(3)))
            let log = try LogFixtures.open(dir)
            #expect(log.lastIndex == 4)
            #expect(log.initialState() == HardState(term: 1, vote: 1, commit: 4))
            #expect(log.recoveryReport.commitClampedFrom == 5)
            log.close()
            let again = try LogFixtures.open(dir)
            #expect(!again.recoveryReport.repairedDamage)
            #expect(again.initialState().commit == 4)
        }
    }

    @Test("a snapshot file with a bad checksum refuses to start; so does a missing one")
    func damagedSnapshotFile() throws {
        try withTemporaryDirectory { dir in
            do {
                let log = try LogFixtures.open(dir)
                try log.save(
                    hardState: HardState(term: 1, vote: 1, commit: 5),
                    entries: LogFixtures.entries(1...5, term: 1), snapshot: nil)
                try log.compact(snapshotAt: 5, configuration: LogFixtures.voters, data: Array("state".utf8))
            }
            let path = dir + "/raft/snapshot/0000000000000005-0000000000000001.snap"
            let original = readFile(path)
            for position in [0, 10, original.count / 2, original.count - 1] {
                var damaged = original
                damaged[position] ^= 0x40
                writeFile(path, damaged)
                let error = #expect(throws: DurableLogError.self) { try LogFixtures.open(dir) }
                #expect(
                    error?.code == "SNAPSHOT_CORRUPT", "flip at \(position): \(String(describing: error))")
            }
            try FileManager.default.removeItem(atPath: path)
            #expect(throws: DurableLogError.missingSnapshot(path: path, index: 5, term: 1)) {
                try LogFixtures.open(dir)
            }
        }
    }

    @Test("a raft directory without its WAL, or with a foreign file, refuses to start")
    func missingOrForeignWAL() throws {
        try withTemporaryDirectory { dir in
            let wal = dir + "/raft/wal"
            _ = try LogFixtures.open(dir)
            let bytes = readFile(wal)
            var foreign = bytes
            foreign[0] = UInt8(ascii: "X")
            writeFile(wal, foreign)
            #expect(throws: DurableLogError.badWALHeader(path: wal)) { try LogFixtures.open(dir) }
            try FileManager.default.removeItem(atPath: wal)
            #expect(throws: DurableLogError.missingWAL(path: wal)) { try LogFixtures.open(dir) }
        }
    }

    @Test("leftovers of an interrupted compaction or creation are removed and the old state is used")
    func interruptedWritesAreCleanedUp() throws {
        try withTemporaryDirectory { dir in
            do {
                let log = try LogFixtures.open(dir)
                try log.save(
                    hardState: HardState(term: 1, vote: 1, commit: 3),
                    entries: LogFixtures.entries(1...3, term: 1), snapshot: nil)
            }
            // A crash after the new snapshot file was renamed into place but before the WAL was
            // rewritten, with a half-written WAL temporary file.
            let newer = Snapshot(
                metadata: SnapshotMetadata(index: 3, term: 1, configuration: LogFixtures.voters), data: [1])
            writeFile(
                dir + "/raft/snapshot/0000000000000003-0000000000000001.snap", SnapshotFile.encode(newer))
            writeFile(dir + "/raft/wal.tmp", [1, 2, 3])
            let log = try LogFixtures.open(dir)
            #expect(try log.snapshot().metadata.index == 0)
            #expect(log.lastIndex == 3)
            #expect(log.recoveryReport.removedFiles.count == 2)
            #expect(!FileManager.default.fileExists(atPath: dir + "/raft/wal.tmp"))
            log.close()

            // A crash in the middle of creating a data dir.
            try withTemporaryDirectory { fresh in
                try FileManager.default.createDirectory(
                    atPath: fresh + "/raft.tmp/snapshot", withIntermediateDirectories: true)
                writeFile(fresh + "/raft.tmp/wal", [0, 0])
                let created = try LogFixtures.open(fresh)
                #expect(created.recoveryReport.createdNew)
                #expect(!FileManager.default.fileExists(atPath: fresh + "/raft.tmp"))
            }
        }
    }
}
