/// Everything the core wants done, handed to the owner in one batch (etcd's `Ready`).
///
/// The owner carries a `Ready` out in exactly this order, then calls `RaftNode.advance()`:
///
/// 1. **Persist**: if `snapshot` is set, store it (replacing the log before it); then store
///    `hardState` if set; then append `entries`, first discarding any stored entries at or
///    after `entries.first.index`. Term, vote, entries and snapshot must be durable (fsync)
///    before step 2, because the messages promise them: a granted vote, an acknowledged entry.
///    A hard state that only moves `commit` may be written without an fsync: a restarted
///    server learns the commit index again from the leader.
/// 2. **Send** `messages`. Delivery may fail, repeat or reorder; the core copes. A leader
///    whose term and vote did not change may send before its own fsync completes (thesis
///    §10.2.1): it counts its own entries toward a majority only after `advance()`. Likewise a
///    candidate may send its RequestVotes before its new term and vote are durable: it counts
///    its own vote only after `advance()`.
/// 3. **Apply**: restore the state machine from `snapshot` if set, then apply
///    `committedEntries` in order; answer `readStates` once the applied index reaches theirs.
/// 4. **Advance**: call `advance()`.
public struct Ready: Equatable, Sendable {
    /// Hard state to persist, or nil when unchanged since the last `Ready`.
    public var hardState: HardState?
    /// Entries to append to stable storage.
    public var entries: [Entry] = []
    /// A snapshot received from the leader, to persist and restore.
    public var snapshot: Snapshot?
    /// Messages to send once everything above is durable.
    public var messages: [Message] = []
    /// Committed entries to apply to the state machine, in index order.
    public var committedEntries: [Entry] = []
    /// Linearizable reads confirmed by a quorum: serve each once applied ≥ its index.
    public var readStates: [ReadState] = []
    /// Reads that can no longer be confirmed (this server stopped leading); retry elsewhere.
    public var failedReads: [UInt64] = []
    /// Role or leader changes since the last `Ready`, or nil when unchanged.
    public var softState: SoftState?
    /// A leadership transfer that ended without a new leader, and why.
    public var transferAborted: LeaderTransferAbort?

    public init() {}

    /// Whether the owner must fsync before sending (anything durable changed).
    public var mustSync: Bool { hardState != nil || !entries.isEmpty || snapshot != nil }

    /// Whether there is anything to do.
    public var isEmpty: Bool {
        hardState == nil && entries.isEmpty && snapshot == nil && messages.isEmpty
            && committedEntries.isEmpty && readStates.isEmpty && failedReads.isEmpty && softState == nil
            && transferAborted == nil
    }
}

/// A read confirmed by a quorum of heartbeats (thesis §6.4).
public struct ReadState: Equatable, Hashable, Sendable {
    /// The owner's id for the read, as given to `readIndex(_:)`.
    public var id: UInt64
    /// The commit index at the moment the read arrived: serve the read once applied ≥ this.
    public var index: LogIndex

    public init(id: UInt64, index: LogIndex) {
        self.id = id
        self.index = index
    }
}

/// Volatile state worth showing: who leads, and what this server is.
public struct SoftState: Equatable, Hashable, Sendable {
    /// The known leader, or `.none`.
    public var leader: NodeID
    public var role: Role

    public init(leader: NodeID, role: Role) {
        self.leader = leader
        self.role = role
    }
}

/// A server's role (§5.1, plus the pre-candidate of thesis §9.6).
public enum Role: String, Equatable, Hashable, Sendable {
    case follower
    case preCandidate = "pre_candidate"
    case candidate
    case leader
}
