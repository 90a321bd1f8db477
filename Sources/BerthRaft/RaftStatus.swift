/// A read-only picture of one server's Raft state, for status pages and tests.
public struct RaftStatus: Equatable, Sendable {
    public var id: NodeID
    public var term: Term
    public var vote: NodeID
    public var role: Role
    /// The known leader, or `.none`.
    public var leader: NodeID
    /// Highest committed index.
    public var commit: LogIndex
    /// Highest index the owner has applied.
    public var applied: LogIndex
    /// First index still held in the log (earlier ones are in the snapshot).
    public var firstIndex: LogIndex
    /// Last index in the log.
    public var lastIndex: LogIndex
    /// The membership as of the applied index.
    public var configuration: Configuration
    /// The target of a leadership transfer under way, or `.none`.
    public var transferTarget: NodeID
    /// Members heard from under an incarnation the configuration does not record (they lost
    /// their disk and must rejoin), with that incarnation. Their messages are not counted.
    public var foreignIncarnations: [NodeID: Incarnation]
    /// Messages dropped because no correct peer sends them (entries that rewrite the committed
    /// log, acknowledgements past the leader's log), and the last such reason.
    public var refusedMessages: Int
    public var lastRefusal: String?
    /// Leader only: each member's replication progress.
    public var progress: [NodeID: FollowerProgress]
}

/// The leader's view of one member's replication.
public struct FollowerProgress: Equatable, Sendable {
    /// Highest index known to match the leader's log.
    public var match: LogIndex
    /// Next index the leader will send.
    public var next: LogIndex
    /// `probe`, `replicate` or `snapshot`.
    public var state: String
    /// Whether the member only receives the log.
    public var isLearner: Bool
    /// Whether the leader heard from it during the current CheckQuorum round.
    public var recentActive: Bool
}

/// Where a proposal landed in the log. It is committed once an entry at `index` with `term` is
/// applied; a different term at `index` means it was lost in a leader change and may be retried.
public struct ProposalTicket: Equatable, Hashable, Sendable {
    public var index: LogIndex
    public var term: Term

    public init(index: LogIndex, term: Term) {
        self.index = index
        self.term = term
    }
}

/// The cheap part of `RaftStatus` (etcd's `BasicStatus`): no copies of the membership or the
/// followers' progress, so the owner can take it after every `Ready`.
public struct BasicStatus: Equatable, Sendable {
    public var term: Term
    public var vote: NodeID
    public var role: Role
    /// The known leader, or `.none`.
    public var leader: NodeID
    public var commit: LogIndex
    public var applied: LogIndex
    /// Messages dropped so far because no correct peer sends them (`RaftStatus.lastRefusal`).
    public var refusedMessages: Int

    public init(
        term: Term, vote: NodeID, role: Role, leader: NodeID, commit: LogIndex, applied: LogIndex,
        refusedMessages: Int = 0
    ) {
        self.term = term
        self.vote = vote
        self.role = role
        self.leader = leader
        self.commit = commit
        self.applied = applied
        self.refusedMessages = refusedMessages
    }
}
