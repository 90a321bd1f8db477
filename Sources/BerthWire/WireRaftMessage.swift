/// The Raft messages as the peer protocol carries them (docs/wire-protocol.md §4), independent of
/// any Raft implementation: the codec depends on nothing but these, and a server maps them to and
/// from its core's own types. Node ids, terms and log indices are plain `UInt64`s (0 = none).
public struct WireMessage: Equatable, Hashable, Sendable {
    public var from: UInt64
    public var to: UInt64
    public var term: UInt64
    public var body: WireMessageBody

    public init(from: UInt64, to: UInt64, term: UInt64, body: WireMessageBody) {
        self.from = from
        self.to = to
        self.term = term
        self.body = body
    }
}

/// One case per Raft frame type (§4.3–§4.10).
public enum WireMessageBody: Equatable, Hashable, Sendable {
    case appendEntries(WireAppendEntries)
    case appendEntriesResponse(WireAppendEntriesResponse)
    case heartbeat(WireHeartbeat)
    case heartbeatResponse(WireHeartbeatResponse)
    case requestVote(WireRequestVote)
    case requestVoteResponse(WireRequestVoteResponse)
    case installSnapshot(WireSnapshot)
    case timeoutNow
}

public struct WireAppendEntries: Equatable, Hashable, Sendable {
    public var prevIndex: UInt64
    public var prevTerm: UInt64
    public var entries: [WireEntry]
    public var commit: UInt64

    public init(prevIndex: UInt64, prevTerm: UInt64, entries: [WireEntry], commit: UInt64) {
        self.prevIndex = prevIndex
        self.prevTerm = prevTerm
        self.entries = entries
        self.commit = commit
    }
}

public struct WireAppendEntriesResponse: Equatable, Hashable, Sendable {
    public var success: Bool
    public var matchIndex: UInt64
    public var conflictTerm: UInt64
    public var conflictIndex: UInt64

    public init(success: Bool, matchIndex: UInt64, conflictTerm: UInt64 = 0, conflictIndex: UInt64 = 0) {
        self.success = success
        self.matchIndex = matchIndex
        self.conflictTerm = conflictTerm
        self.conflictIndex = conflictIndex
    }
}

public struct WireHeartbeat: Equatable, Hashable, Sendable {
    public var commit: UInt64
    public var readRound: UInt64

    public init(commit: UInt64, readRound: UInt64 = 0) {
        self.commit = commit
        self.readRound = readRound
    }
}

public struct WireHeartbeatResponse: Equatable, Hashable, Sendable {
    public var readRound: UInt64

    public init(readRound: UInt64 = 0) {
        self.readRound = readRound
    }
}

public struct WireRequestVote: Equatable, Hashable, Sendable {
    public var lastIndex: UInt64
    public var lastTerm: UInt64
    public var preVote: Bool
    public var leadershipTransfer: Bool

    public init(lastIndex: UInt64, lastTerm: UInt64, preVote: Bool = false, leadershipTransfer: Bool = false) {
        self.lastIndex = lastIndex
        self.lastTerm = lastTerm
        self.preVote = preVote
        self.leadershipTransfer = leadershipTransfer
    }
}

public struct WireRequestVoteResponse: Equatable, Hashable, Sendable {
    public var granted: Bool
    public var preVote: Bool

    public init(granted: Bool, preVote: Bool) {
        self.granted = granted
        self.preVote = preVote
    }
}

/// A log entry (§3, "entry").
public struct WireEntry: Equatable, Hashable, Sendable {
    public var term: UInt64
    public var index: UInt64
    public var payload: WireEntryPayload

    public init(term: UInt64, index: UInt64, payload: WireEntryPayload) {
        self.term = term
        self.index = index
        self.payload = payload
    }
}

public enum WireEntryPayload: Equatable, Hashable, Sendable {
    case empty
    case command([UInt8])
    case configChange(WireConfigChange)
}

public enum WireConfigChange: Equatable, Hashable, Sendable {
    case addLearner(UInt64, incarnation: UInt64)
    case rejoin(UInt64, incarnation: UInt64)
    case promote(UInt64)
    case remove(UInt64)
}

/// A membership: voters, learners and each member's incarnation (§3, "configuration"). The
/// codec refuses only what the core could not hold (overlap, a zero incarnation).
public struct WireConfiguration: Equatable, Hashable, Sendable {
    public var voters: Set<UInt64>
    public var learners: Set<UInt64>
    /// One incarnation per member.
    public var incarnations: [UInt64: UInt64]

    /// Members missing from `incarnations` get incarnation 1; entries for non-members are dropped.
    public init(voters: Set<UInt64>, learners: Set<UInt64> = [], incarnations: [UInt64: UInt64] = [:]) {
        self.voters = voters
        self.learners = learners
        var recorded: [UInt64: UInt64] = [:]
        for member in voters.union(learners) { recorded[member] = incarnations[member] ?? 1 }
        self.incarnations = recorded
    }

    /// The incarnation of `member` as it is encoded.
    func incarnation(of member: UInt64) -> UInt64 { incarnations[member] ?? 1 }
}

public struct WireSnapshotMetadata: Equatable, Hashable, Sendable {
    public var index: UInt64
    public var term: UInt64
    public var configuration: WireConfiguration

    public init(index: UInt64, term: UInt64, configuration: WireConfiguration) {
        self.index = index
        self.term = term
        self.configuration = configuration
    }
}

public struct WireSnapshot: Equatable, Hashable, Sendable {
    public var metadata: WireSnapshotMetadata
    public var data: [UInt8]

    public init(metadata: WireSnapshotMetadata, data: [UInt8]) {
        self.metadata = metadata
        self.data = data
    }
}
