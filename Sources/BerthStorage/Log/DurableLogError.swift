import BerthRaft

/// Why the durable log could not open, read or write. Each case has a stable `code`; the
/// human `message` is derived from the case and its evidence.
public enum DurableLogError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed: `operation` (e.g. "fsync") on `path`, with the C `errno`.
    case io(operation: String, path: String, errno: Int32)
    /// The WAL does not start with the Berth WAL magic, so it is not ours or is damaged.
    case badWALHeader(path: String)
    /// The WAL or a snapshot file was written by a format version this build cannot read.
    case unsupportedFormatVersion(path: String, version: UInt32)
    /// A damaged record with whole, valid records after it: entries would be lost silently
    /// if we truncated, so the server refuses to start. `offset` is the damaged record's first
    /// byte, `nextValidOffset` the first valid record found after it.
    case corruptRecord(path: String, offset: Int, nextValidOffset: Int)
    /// A record whose checksum is right but whose content breaks the log's rules (unknown type,
    /// an entry leaving a gap, an entry inside the snapshot): a bug that wrote it, not a crash.
    case invalidRecord(path: String, offset: Int, reason: String)
    /// A snapshot file whose checksum or structure is wrong.
    case corruptSnapshot(path: String, reason: String)
    /// The WAL names a snapshot (index, term) whose file is missing.
    case missingSnapshot(path: String, index: LogIndex, term: Term)
    /// The raft directory exists but has no WAL: refusing to start empty over lost state.
    case missingWAL(path: String)
    /// An append that would leave a gap or overwrite the snapshot (a caller bug).
    case invalidAppend(firstNewIndex: LogIndex, firstIndex: LogIndex, lastIndex: LogIndex)
    /// Compaction asked for an index outside `(snapshot index, min(commit, last index)]`.
    case compactionOutOfRange(
        index: LogIndex, snapshotIndex: LogIndex, commit: LogIndex, lastIndex: LogIndex)
    /// An earlier write or fsync failed; the file's state is unknown, so every later write is
    /// refused. Restart the process to recover from what is on disk.
    case failedEarlier(cause: String)
    /// The raft directory exists but its identity file does not: refusing to guess whose it is.
    case missingIdentity(path: String)
    /// The identity file is damaged.
    case corruptIdentity(path: String, reason: String)
    /// The data directory was created for another node id (a `--data-dir` or `--node-id` mix-up).
    case wrongNode(path: String, expected: NodeID, found: NodeID)

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .io: return "STORAGE_IO"
        case .badWALHeader: return "WAL_BAD_HEADER"
        case .unsupportedFormatVersion: return "STORAGE_UNSUPPORTED_VERSION"
        case .corruptRecord: return "WAL_CORRUPT_RECORD"
        case .invalidRecord: return "WAL_INVALID_RECORD"
        case .corruptSnapshot: return "SNAPSHOT_CORRUPT"
        case .missingSnapshot: return "SNAPSHOT_MISSING"
        case .missingWAL: return "WAL_MISSING"
        case .invalidAppend: return "WAL_INVALID_APPEND"
        case .compactionOutOfRange: return "COMPACTION_OUT_OF_RANGE"
        case .failedEarlier: return "STORAGE_FAILED"
        case .missingIdentity: return "IDENTITY_MISSING"
        case .corruptIdentity: return "IDENTITY_CORRUPT"
        case .wrongNode: return "DATA_DIR_WRONG_NODE"
        }
    }

    /// What happened, for people.
    public var message: String {
        switch self {
        case .io(let operation, let path, let errno):
            return "\(operation) failed on \(path): errno \(errno)"
        case .badWALHeader(let path):
            return "\(path) is not a Berth WAL (bad magic)"
        case .unsupportedFormatVersion(let path, let version):
            return "\(path) has format version \(version), which this build cannot read"
        case .corruptRecord(let path, let offset, let next):
            return
                "\(path): record at byte offset \(offset) is damaged but a valid record follows at offset \(next); refusing to start rather than drop entries (restore this node from a peer)"
        case .invalidRecord(let path, let offset, let reason):
            return "\(path): record at byte offset \(offset) is invalid: \(reason)"
        case .corruptSnapshot(let path, let reason):
            return "snapshot \(path) is damaged: \(reason)"
        case .missingSnapshot(let path, let index, let term):
            return "the WAL names snapshot index \(index) term \(term) but \(path) is missing"
        case .missingWAL(let path):
            return "\(path) is missing although the raft directory exists; refusing to start empty"
        case .invalidAppend(let first, let firstIndex, let lastIndex):
            return "cannot append at index \(first): the log holds \(firstIndex)...\(lastIndex)"
        case .compactionOutOfRange(let index, let snapshotIndex, let commit, let lastIndex):
            return
                "cannot compact at \(index): must be above the snapshot (\(snapshotIndex)) and at most the commit (\(commit)) and last index (\(lastIndex))"
        case .failedEarlier(let cause):
            return "the log refused a write after an earlier failure: \(cause)"
        case .missingIdentity(let path):
            return "\(path) is missing although the raft directory exists; refusing to start under a guessed identity"
        case .corruptIdentity(let path, let reason):
            return "identity file \(path) is damaged: \(reason)"
        case .wrongNode(let path, let expected, let found):
            return
                "\(path) says this data directory belongs to node \(found), not node \(expected); check --node-id and --data-dir"
        }
    }

    public var description: String { "\(code): \(message)" }
}
