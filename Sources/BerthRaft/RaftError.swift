/// Why the core refused a proposal, read or request. Never silently dropped: the caller
/// always learns one of these.
public enum RaftError: Error, Equatable, Hashable, Sendable {
    /// This server is not the leader; forward to `leaderHint` (`.none` when no leader is known).
    case notLeader(leaderHint: NodeID)
    /// A leadership transfer is under way; proposals resume when it ends.
    case transferInProgress(target: NodeID)
    /// Too many uncommitted entries (`limit`); back off and retry.
    case tooManyPending(limit: Int)
    /// Too many reads waiting for confirmation (`limit`); back off and retry.
    case tooManyPendingReads(limit: Int)
    /// Another membership change is not yet committed (one at a time, thesis §4.1).
    case configChangeInProgress(index: LogIndex)
    /// The leader has not committed an entry in its own term yet (thesis §4.1, §6.4).
    case leaderNotReady
    /// The membership change does not apply to the current configuration.
    case invalidConfigChange(ConfigChangeError)
    /// A learner may be promoted only once its log has caught up (`match` of `leaderLast`).
    case learnerNotCaughtUp(node: NodeID, match: LogIndex, leaderLast: LogIndex)
    /// The transfer target is not a voter of this cluster (or is this server).
    case invalidTransferTarget(NodeID)
    /// Only a server whose log is empty can bootstrap a cluster.
    case logNotEmpty(lastIndex: LogIndex)
}

/// Why a leadership transfer ended without the target taking over.
public struct LeaderTransferAbort: Equatable, Hashable, Sendable {
    /// The server that was asked to take over.
    public var target: NodeID
    public var reason: Reason

    public enum Reason: Equatable, Hashable, Sendable {
        /// An election timeout passed; the target had replicated `targetMatch` of `leaderLast`.
        case timedOut(targetMatch: LogIndex, leaderLast: LogIndex)
        /// This server stopped leading for another reason (a higher term, lost quorum).
        case leadershipLost
        /// The target left the configuration.
        case targetRemoved
    }

    public init(target: NodeID, reason: Reason) {
        self.target = target
        self.reason = reason
    }
}
