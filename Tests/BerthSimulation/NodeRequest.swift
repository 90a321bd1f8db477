import BerthRaft

/// What nodes say to each other on behalf of clients, over the same simulated network as Raft
/// messages (the server sends them on its peer links): a follower forwards a client's write to
/// the leader and asks it for a read index. Like the server's forwards, a request is sent once:
/// if it or its answer is lost, the follower tells its client the outcome is unknown.
enum NodeRequest: Equatable {
    /// Follower → leader: propose client operation `op` (its key already assigned).
    case forward(id: UInt64, client: Int, op: UInt64)
    /// Leader → follower: what became of forward `id`.
    case forwardAnswer(id: UInt64, outcome: ForwardOutcome)
    /// Follower → leader: confirm a read index for read `id` (thesis §6.4).
    case readIndex(id: UInt64)
    /// Leader → follower: the confirmed read index for read `id`, or nil when it could not be
    /// confirmed (the leader stepped down, or was not one).
    case readIndexAnswer(id: UInt64, index: LogIndex?)

    /// What the leader did with a forwarded write.
    enum ForwardOutcome: Equatable {
        /// Applied at `index`.
        case applied(index: LogIndex)
        /// Not proposed: the leader refused (not the leader, a transfer, too many pending).
        case refused(RaftError)
        /// Proposed, then lost track of (another entry took its index, a snapshot covered it):
        /// it may or may not be committed.
        case unknown
    }
}
