import BerthRaft

/// Why a write or linearizable read did not complete. Each maps to one HTTP answer (spec §7).
enum WriteFailure: Error, Equatable, Sendable {
    /// This node is not the leader; `leaderHint` is the one it knows, or `.none`.
    case notLeader(leaderHint: NodeID)
    /// More than the configured number of proposals are pending (429).
    case queueFull(limit: Int)
    /// Not committed within the commit deadline (504).
    case commitTimeout
    /// A linearizable read not confirmed or not applied within the deadline (504).
    case readTimeout
    /// A leader change replaced the entry before it committed (503; retry with the same key).
    case lostInLeaderChange
    /// Leadership was lost while a read was being confirmed (503).
    case leadershipLost
    /// A leadership transfer is under way; writes resume when it ends (503).
    case transferInProgress
    /// The node is draining or stopping (503).
    case draining
    case shuttingDown
    /// The leader could not be reached to forward the request, and the request was not sent
    /// (503: retrying is safe).
    case forwardFailed(leader: NodeID, reason: String)
    /// The request may or may not have been applied: it was sent to the leader and the answer
    /// was lost, or a snapshot covered its entry. Never retried by the node; a client retries
    /// only with the same Idempotency-Key (504 OUTCOME_UNKNOWN, no Retry-After).
    case outcomeUnknown(reason: String)

    init(_ error: any Error) {
        guard let raftError = error as? RaftError else {
            self = .forwardFailed(leader: .none, reason: "\(error)")
            return
        }
        switch raftError {
        case .notLeader(let hint): self = .notLeader(leaderHint: hint)
        case .tooManyPending(let limit), .tooManyPendingReads(let limit): self = .queueFull(limit: limit)
        case .transferInProgress: self = .transferInProgress
        case .leaderNotReady, .configChangeInProgress, .invalidConfigChange, .learnerNotCaughtUp,
            .invalidTransferTarget, .logNotEmpty:
            self = .lostInLeaderChange
        }
    }
}

/// Why a leadership transfer failed.
enum TransferFailure: Error, Equatable, Sendable {
    case notLeader(leaderHint: NodeID)
    case invalidTarget(NodeID)
    /// The target did not take over within an election timeout.
    case aborted(LeaderTransferAbort)
    /// Another transfer replaced this one.
    case superseded

    init(_ error: any Error) {
        switch error as? RaftError {
        case .notLeader(let hint): self = .notLeader(leaderHint: hint)
        case .invalidTransferTarget(let target): self = .invalidTarget(target)
        case .transferInProgress(let target): self = .invalidTarget(target)
        default: self = .invalidTarget(.none)
        }
    }
}
