/// The state a server must have on stable storage before it answers anyone (§5, Figure 2).
public struct HardState: Equatable, Hashable, Sendable {
    /// The latest term this server has seen.
    public var term: Term
    /// The candidate this server voted for in `term`, or `.none`.
    public var vote: NodeID
    /// The highest log index known to be committed; persisted so restarts need not rediscover it.
    public var commit: LogIndex

    public init(term: Term = 0, vote: NodeID = .none, commit: LogIndex = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}
