/// Where a node keeps its durable state under `--data-dir` (docs/storage.md, "Layout").
///
/// ```
/// <data-dir>/
///   raft/
///     identity               node id and incarnation, written once at creation
///     wal                    append-only record file: hard state, entries, snapshot markers
///     snapshot/
///       <index>-<term>.snap  the Raft snapshot the WAL's last marker names (16 hex digits each)
///   state/
///     berth.sqlite           the replicated state machine (plus -wal and -shm while open)
///     incoming/              snapshots received from the leader (`IncomingSnapshot`)
/// ```
public struct StorageLayout: Equatable, Sendable {
    /// The node's data directory (`--data-dir`).
    public var dataDirectory: String

    public init(dataDirectory: String) {
        self.dataDirectory =
            dataDirectory.count > 1 && dataDirectory.hasSuffix("/")
            ? String(dataDirectory.dropLast()) : dataDirectory
    }

    /// The Raft log's directory.
    public var raftDirectory: String { dataDirectory + "/raft" }
    /// Where a brand-new raft directory is assembled before it is renamed into place.
    var raftStagingDirectory: String { dataDirectory + "/raft.tmp" }
    /// The write-ahead log file.
    public var walPath: String { raftDirectory + "/wal" }
    /// The data directory's identity (node id and incarnation).
    public var identityPath: String { raftDirectory + "/identity" }
    /// The directory of snapshot files.
    public var snapshotDirectory: String { raftDirectory + "/snapshot" }
    /// The state machine's directory.
    public var stateDirectory: String { dataDirectory + "/state" }
    /// The state machine's SQLite database.
    public var stateDatabasePath: String { stateDirectory + "/berth.sqlite" }
    /// Snapshots being received from the leader, or received and not yet restored.
    public var incomingSnapshotDirectory: String { stateDirectory + "/incoming" }

    /// The snapshot file for (`index`, `term`).
    func snapshotPath(index: UInt64, term: UInt64) -> String {
        snapshotDirectory + "/" + SnapshotFile.fileName(index: index, term: term)
    }
}
