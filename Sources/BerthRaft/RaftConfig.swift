/// Settings for one Raft server. Times are in ticks; the owner decides how long a tick is.
public struct RaftConfig: Sendable {
    /// This server's id (≥ 1).
    public var id: NodeID
    /// This server's incarnation: its data directory's id, non-zero, new whenever the server
    /// starts from an empty disk. It votes and counts toward commitment only once the
    /// configuration records this incarnation for it.
    public var incarnation: Incarnation = .initial
    /// Ticks without hearing from a leader before a follower starts an election; the actual
    /// timeout is drawn from `[electionTicks, 2 × electionTicks)` each time (§5.2).
    public var electionTicks: Int = 10
    /// Ticks between a leader's heartbeats; must be less than `electionTicks`.
    public var heartbeatTicks: Int = 1
    /// Ask for pre-votes before raising the term (thesis §9.6).
    public var preVote: Bool = true
    /// A leader that has not heard from a quorum within an election timeout steps down, and
    /// voters ignore vote requests while they hear from a leader (thesis §6.2, §9.6).
    public var checkQuorum: Bool = true
    /// Upper bound on the bytes of entries in one AppendEntries.
    public var maxMessageBytes: Int = 1 << 20
    /// Upper bound on AppendEntries in flight to one follower in the replicate state.
    public var maxInflightMessages: Int = 64
    /// Upper bound on uncommitted entries at the leader; more proposals are refused.
    public var maxPendingProposals: Int = 256
    /// Upper bound on reads waiting for a quorum confirmation.
    public var maxPendingReads: Int = 1024
    /// Upper bound on the bytes of committed entries handed out in one `Ready`.
    public var maxApplyBytesPerReady: Int = 4 << 20
    /// A learner may be promoted once it is at most this many entries behind the leader.
    public var promotionMaxLagEntries: Int = 64
    /// Leader ticks to wait for a follower to confirm a snapshot before sending it again
    /// (the transport normally reports the outcome sooner with `reportSnapshot`).
    public var snapshotRetryTicks: Int = 50
    /// The last index the owner's state machine has applied (restored from its own storage).
    public var appliedIndex: LogIndex = 0
    /// Seed for the election-timeout jitter; give each server a different one.
    public var randomSeed: UInt64

    public init(id: NodeID, randomSeed: UInt64) {
        self.id = id
        self.randomSeed = randomSeed
    }
}
