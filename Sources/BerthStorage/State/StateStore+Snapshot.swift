import BerthRaft
import Foundation
import GRDB

/// A consistent copy of the state database, for a Raft snapshot.
public struct StateSnapshot: Equatable, Sendable {
    /// A complete SQLite database file (what `VACUUM INTO` writes).
    public var data: [UInt8]
    /// The last entry applied in the copy: compact the Raft log at exactly this index.
    public var applied: AppliedPosition
}

extension StateStore {
    /// The first 16 bytes of every SQLite database file.
    static let sqliteMagic: [UInt8] = Array("SQLite format 3\u{0}".utf8)

    /// A consistent copy of the whole database and the applied index it holds. Taken with the
    /// writer connection (`VACUUM INTO` a temporary file), so no apply lands halfway.
    public func snapshotData() throws(StateStoreError) -> StateSnapshot {
        let (temporary, applied) = try snapshotFile()
        defer { removeDatabaseFiles(temporary) }
        guard let data = FileManager.default.contents(atPath: temporary) else {
            throw .io(operation: "read", path: temporary, reason: "VACUUM INTO left no file")
        }
        return StateSnapshot(data: Array(data), applied: applied)
    }

    /// A consistent copy of the whole database in a file beside it (the caller removes it), and
    /// the applied position the copy holds: what a leader streams to a follower, a chunk at a
    /// time, without reading it into memory.
    public func snapshotFile() throws(StateStoreError) -> (path: String, applied: AppliedPosition) {
        let temporary = temporaryPath("snapshot")
        let applied = try Self.wrap {
            // On a reader: in WAL mode the copy is one consistent state while the Raft loop goes
            // on applying, instead of holding the writer for the whole copy. The applied position
            // is read back from the copy itself, so it matches the copied state exactly.
            try writer.unsafeRead { db in
                try db.execute(sql: "VACUUM INTO ?", arguments: [temporary])
            }
            let copy = try DatabaseQueue(path: temporary)
            defer { try? copy.close() }
            return try copy.read { try Self.appliedPosition(in: $0) }
        }
        return (temporary, applied)
    }

    /// For `ClusterRestore` only, on a database no node runs yet: forgets the member addresses
    /// recorded by the cluster the backup came from. The restored cluster's members record theirs
    /// again as they are admitted; stale ones would point its peers at the old cluster's hosts.
    func forgetMembersForRestore() throws(StateStoreError) {
        try Self.wrap { try writer.write { try $0.execute(sql: "DELETE FROM members") } }
    }

    /// Makes every apply committed so far durable, although the database runs with
    /// `synchronous=NORMAL`: fsyncs its WAL, then its main file (a checkpoint in between has
    /// synced the main file itself before it reused the WAL). After this the Raft log may be
    /// compacted up to the applied index read before the call, without copying the database.
    public func syncToDisk() throws(StateStoreError) {
        guard let path else { return }
        do {
            try FileIO.fsyncFile(path + "-wal")
            try FileIO.fsyncFile(path)
        } catch {
            throw .io(operation: "fsync", path: path, reason: "\(error)")
        }
    }

    /// Replaces the whole database with `data` (from `snapshotData()`, possibly another node's)
    /// and returns the applied position it holds.
    ///
    /// The bytes are written to a temporary file, checked (`PRAGMA quick_check`, a `meta` row,
    /// no migrations this build does not know), then copied over the live database with SQLite's
    /// backup API, which commits as one transaction: a crash leaves the old state or the new,
    /// and readers see one or the other. The schema is then migrated to this build's version.
    @discardableResult
    public func restore(from data: [UInt8]) throws(StateStoreError) -> AppliedPosition {
        let temporary = temporaryPath("restore")
        defer { removeDatabaseFiles(temporary) }
        guard FileManager.default.createFile(atPath: temporary, contents: Data(data)) else {
            throw .io(operation: "create", path: temporary, reason: "could not write the snapshot")
        }
        return try restore(fromFile: temporary)
    }

    /// `restore(from:)` from a database file (a snapshot received into a file), which is read in
    /// place and left where it is. The restored state is fsynced before this returns, so the
    /// file can be removed afterwards.
    @discardableResult
    public func restore(fromFile file: String) throws(StateStoreError) -> AppliedPosition {
        let head = FileHandle(forReadingAtPath: file).flatMap { try? $0.read(upToCount: Self.sqliteMagic.count) }
        guard let head, Array(head) == Self.sqliteMagic else {
            throw .invalidSnapshot(reason: "\(file) is not an SQLite database")
        }
        try Self.wrap {
            let source = try DatabaseQueue(path: file)
            defer { try? source.close() }
            let check = try source.read { try String.fetchOne($0, sql: "PRAGMA quick_check") }
            guard check == "ok" else {
                throw StateStoreError.invalidSnapshot(reason: "quick_check: \(check ?? "no answer")")
            }
            guard try source.read({ try $0.tableExists("meta") }) else {
                throw StateStoreError.invalidSnapshot(reason: "no meta table")
            }
            _ = try source.read { try Self.appliedPosition(in: $0) }
            if try source.read({ try Self.migrator.hasBeenSuperseded($0) }) {
                throw StateStoreError.invalidSnapshot(
                    reason: "written by a newer schema than this build knows")
            }
            try source.backup(to: writer)
            try Self.migrator.migrate(writer)
        }
        try reloadFleet()
        try syncToDisk()
        return try lastApplied()
    }

    /// Brings the store up to the Raft log's snapshot when it is behind it (a crash between
    /// persisting an installed snapshot and restoring it, or a wiped state directory). Call at
    /// startup, before creating the `RaftNode` with `appliedIndex = lastApplied().index`.
    /// Returns whether it restored.
    @discardableResult
    public func restoreIfBehind(_ snapshot: Snapshot, incomingDirectory: String? = nil) throws(StateStoreError) -> Bool
    {
        let applied = try lastApplied()
        guard snapshot.metadata.index > applied.index else { return false }
        if snapshot.data.isEmpty, let incomingDirectory {
            // A snapshot received into a file, persisted in the log, not yet restored (a crash
            // in between): the file is still there.
            let received = IncomingSnapshot.path(
                in: incomingDirectory, index: snapshot.metadata.index, term: snapshot.metadata.term)
            if FileManager.default.fileExists(atPath: received) {
                let restored = try restore(fromFile: received)
                guard restored.index >= snapshot.metadata.index else {
                    throw .invalidSnapshot(
                        reason:
                            "\(received) holds last_applied \(restored.index) but the Raft snapshot is at \(snapshot.metadata.index)"
                    )
                }
                return true
            }
        }
        guard !snapshot.data.isEmpty else {
            // The log was compacted against this database (a snapshot without a copy), which
            // has since lost what it had made durable: nothing here can rebuild the state.
            throw .invalidSnapshot(
                reason:
                    "the state database is at \(applied.index) but the raft log was compacted at "
                    + "\(snapshot.metadata.index) against it; remove the data directory and start the node "
                    + "again: it rejoins under a new incarnation and receives the leader's state")
        }
        let restored = try restore(from: snapshot.data)
        // A snapshot copy may be newer than its metadata (copied when it was sent); never older.
        guard restored.index >= snapshot.metadata.index else {
            throw .invalidSnapshot(
                reason:
                    "holds last_applied \(restored.index) but the Raft snapshot is at \(snapshot.metadata.index)"
            )
        }
        return true
    }

    /// A path beside the database (same file system) for a temporary copy.
    private func temporaryPath(_ purpose: String) -> String {
        let directory = path.map { FileIO.directory(of: $0) } ?? NSTemporaryDirectory()
        let base =
            path.map { String($0[$0.index(after: $0.lastIndex(of: "/") ?? $0.startIndex)...]) } ?? "berth"
        return directory + "/." + base + "." + purpose + "-" + UUID().uuidString + ".tmp"
    }

    private func removeDatabaseFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}
