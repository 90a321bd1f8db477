/// A message between two Raft servers. `term` is the sender's current term (§5.1) except where a
/// body says otherwise.
public struct Message: Equatable, Hashable, Sendable {
    /// The sending server.
    public var from: NodeID
    /// The receiving server.
    public var to: NodeID
    /// The sender's term; see `MessageBody` for the two pre-vote exceptions.
    public var term: Term
    public var body: MessageBody
    /// The sender's incarnation. A member's message counts only under the incarnation the
    /// receiver's configuration records for it; a transport that learns the incarnation once
    /// per connection stamps it here on arrival.
    public var incarnation: Incarnation

    public init(from: NodeID, to: NodeID, term: Term, body: MessageBody, incarnation: Incarnation = .initial) {
        self.from = from
        self.to = to
        self.term = term
        self.body = body
        self.incarnation = incarnation
    }
}

/// The kinds of peer message the core exchanges.
public enum MessageBody: Equatable, Hashable, Sendable {
    /// Leader → follower: entries after (`prevIndex`, `prevTerm`) and the leader's commit (§5.3).
    case appendEntries(AppendEntries)
    /// Follower → leader: the outcome of an AppendEntries or InstallSnapshot.
    case appendEntriesResponse(AppendEntriesResponse)
    /// Leader → follower: "I am still leader"; carries commit and a read-index round id.
    case heartbeat(Heartbeat)
    /// Follower → leader: heartbeat acknowledged; echoes the read-index round id.
    case heartbeatResponse(HeartbeatResponse)
    /// Candidate → all: asks for a vote, or with `preVote`, asks whether it could win (thesis §9.6).
    /// A pre-vote carries the term the candidate *would* use, not its current one.
    case requestVote(RequestVote)
    /// Voter → candidate. A granted pre-vote echoes the requested term.
    case requestVoteResponse(RequestVoteResponse)
    /// Leader → follower: the follower is too far behind; replace its state with this snapshot (§7).
    case installSnapshot(Snapshot)
    /// Leader → transfer target: start an election now, skipping pre-vote (thesis §3.10).
    case timeoutNow
}

/// Leader → follower log replication (§5.3).
public struct AppendEntries: Equatable, Hashable, Sendable {
    /// Index of the entry just before `entries`.
    public var prevIndex: LogIndex
    /// Term of the entry at `prevIndex`.
    public var prevTerm: Term
    /// Entries to store, in index order; empty for a pure commit update or probe.
    public var entries: [Entry]
    /// The leader's commit index.
    public var commit: LogIndex

    public init(prevIndex: LogIndex, prevTerm: Term, entries: [Entry], commit: LogIndex) {
        self.prevIndex = prevIndex
        self.prevTerm = prevTerm
        self.entries = entries
        self.commit = commit
    }
}

/// Follower → leader answer to AppendEntries or InstallSnapshot.
public struct AppendEntriesResponse: Equatable, Hashable, Sendable {
    /// Whether the follower's log now matches the leader's through `matchIndex`.
    public var success: Bool
    /// On success, the last index known to match the leader's log.
    /// On rejection, the `prevIndex` that was rejected.
    public var matchIndex: LogIndex
    /// On rejection: the follower's term at the rejected `prevIndex`, or 0 if its log is shorter.
    public var conflictTerm: Term
    /// On rejection: the first index the follower holds with `conflictTerm`, or its last index + 1
    /// when its log is shorter. The leader backs up to here in one step (§5.3, "fast backtracking").
    public var conflictIndex: LogIndex

    public init(success: Bool, matchIndex: LogIndex, conflictTerm: Term = 0, conflictIndex: LogIndex = 0) {
        self.success = success
        self.matchIndex = matchIndex
        self.conflictTerm = conflictTerm
        self.conflictIndex = conflictIndex
    }
}

/// Leader → follower keep-alive (§5.2) and read-index confirmation round (thesis §6.4).
public struct Heartbeat: Equatable, Hashable, Sendable {
    /// The leader's commit index, capped at what the follower is known to hold.
    public var commit: LogIndex
    /// The read-index round this heartbeat confirms, 0 when none.
    public var readRound: UInt64

    public init(commit: LogIndex, readRound: UInt64 = 0) {
        self.commit = commit
        self.readRound = readRound
    }
}

/// Follower → leader heartbeat acknowledgement.
public struct HeartbeatResponse: Equatable, Hashable, Sendable {
    /// The read-index round being acknowledged, 0 when none.
    public var readRound: UInt64

    public init(readRound: UInt64 = 0) {
        self.readRound = readRound
    }
}

/// Candidate → voter (§5.2, §5.4.1), or a pre-vote probe (thesis §9.6).
public struct RequestVote: Equatable, Hashable, Sendable {
    /// Index of the candidate's last log entry.
    public var lastIndex: LogIndex
    /// Term of the candidate's last log entry.
    public var lastTerm: Term
    /// A pre-vote: the voter answers but changes no state.
    public var preVote: Bool
    /// Sent because the leader asked for a transfer: voters skip their leader-lease check.
    public var leadershipTransfer: Bool

    public init(lastIndex: LogIndex, lastTerm: Term, preVote: Bool = false, leadershipTransfer: Bool = false) {
        self.lastIndex = lastIndex
        self.lastTerm = lastTerm
        self.preVote = preVote
        self.leadershipTransfer = leadershipTransfer
    }
}

/// Voter → candidate.
public struct RequestVoteResponse: Equatable, Hashable, Sendable {
    /// Whether the vote (or pre-vote) is granted.
    public var granted: Bool
    /// Whether this answers a pre-vote.
    public var preVote: Bool

    public init(granted: Bool, preVote: Bool) {
        self.granted = granted
        self.preVote = preVote
    }
}
