import BerthRaft

/// What opening the durable log found and did, for the server to log at startup.
public struct WALRecoveryReport: Equatable, Sendable, CustomStringConvertible {
    /// The data directory had no raft state, so a new one was created from the initial
    /// configuration.
    public var createdNew: Bool
    /// Whole records read from the WAL.
    public var recordsRead: Int
    /// The WAL's size after recovery, in bytes.
    public var walBytes: Int
    /// A damaged tail that was cut off (the last, unacknowledged write of a crash), if any.
    public var tornTail: TornTail?
    /// When the stored commit index pointed past the recovered log (its entries were in the torn
    /// tail), the commit index as stored; the log's last index is used instead.
    public var commitClampedFrom: LogIndex?
    /// Leftovers of interrupted writes that were removed (temporary files, superseded snapshots).
    public var removedFiles: [String]
    /// The hard state recovered.
    public var hardState: HardState
    /// The base snapshot's index and term.
    public var snapshotIndex: LogIndex
    public var snapshotTerm: Term
    /// The log's bounds after recovery.
    public var firstIndex: LogIndex
    public var lastIndex: LogIndex

    /// Whether recovery changed anything on disk that an operator may want to know about.
    public var repairedDamage: Bool { tornTail != nil || commitClampedFrom != nil }

    /// One log line.
    public var description: String {
        var line =
            createdNew
            ? "raft storage created: snapshot 0, empty log"
            : "raft storage recovered: \(recordsRead) records (\(walBytes) bytes), log \(firstIndex)...\(lastIndex), snapshot \(snapshotIndex) (term \(snapshotTerm)), term \(hardState.term) vote \(hardState.vote) commit \(hardState.commit)"
        if let tail = tornTail {
            line +=
                "; cut a torn tail of \(tail.droppedBytes) bytes at offset \(tail.offset) (\(tail.reason.rawValue))"
        }
        if let clamped = commitClampedFrom {
            line += "; stored commit \(clamped) was past the log, lowered to \(hardState.commit)"
        }
        if !removedFiles.isEmpty {
            line +=
                "; removed \(removedFiles.count) leftover file(s): \(removedFiles.joined(separator: ", "))"
        }
        return line
    }
}
