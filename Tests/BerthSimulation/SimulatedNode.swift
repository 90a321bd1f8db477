import BerthRaft

/// One simulated server: a `RaftNode` driven by a `ReadyPipeline` (exactly as the server's Raft
/// loop drives it), the durable storage it survives crashes with, and the volatile state around
/// it (state machine, the write in progress, clients waiting on it).
///
/// `storage` is the disk. Writes reach it only when a write completes, so a crash in the
/// middle of a write loses exactly that write; everything else on the node is dropped.
final class SimulatedNode {
    /// A Ready the pipeline asked the owner to make durable; until `dueAt` a crash loses it,
    /// and the pipeline does not hand out the next Ready.
    struct PendingWrite {
        var ready: Ready
        var dueAt: UInt64
        /// The Ready's messages already left before the write (a steady leader's, thesis §10.2.1).
        var messagesSentFirst: Bool
    }

    /// A client proposal this node accepted and will answer once it applies `ticket.index`.
    struct WaitingProposal {
        var client: Int
        /// The client operation, or nil for a membership change (nobody waits on those).
        var op: UInt64?
        var ticket: ProposalTicket
        /// The follower that forwarded it, and its id for the forward; the answer goes there.
        var forwardedFrom: ForwardOrigin? = nil
    }

    /// Where a forwarded write came from.
    struct ForwardOrigin: Equatable {
        var node: NodeID
        var id: UInt64
    }

    /// A write this node forwarded to the leader, waiting for the answer until `deadline`.
    struct PendingForward {
        var client: Int
        var op: UInt64
        var deadline: UInt64
    }

    /// A linearizable read this node accepted.
    struct PendingRead {
        var client: Int
        var id: UInt64
        var issuedAt: UInt64
    }

    let id: NodeID
    /// The core, or nil while the node is down.
    var raft: RaftNode? { pipeline?.node }
    /// The production pipeline that carries out the core's Readys, and the owner it calls
    /// (kept here: the pipeline holds its owner unowned). Both are dropped by a crash.
    private(set) var pipeline: ReadyPipeline?
    private var owner: SimulatedOwner?
    /// The disk. Survives crashes; written only by completed writes and compaction.
    private(set) var storage: MemoryStorage
    /// The state store (the server's SQLite database): the applied state. It survives a
    /// crash; a power loss may roll it back to any transaction since its last sync, but never
    /// behind the log's snapshot, because compaction syncs it first.
    var stateMachine: OpStateMachine
    /// The store as of its last sync, and after each transaction since, oldest first (kept
    /// only when crashes are power losses, `Options.tornWrites`).
    var storeSynced: OpStateMachine
    var storeTransactions: [OpStateMachine] = []
    /// The core's applied index: the highest index it handed out (or covered by a snapshot)
    /// that the owner applied or skipped. The store may be ahead of it (a newer copy).
    var coreApplied: LogIndex = 0
    /// The commit index as of the log's last fsync, and the commit-only writes since, which
    /// were written without one and may be lost to a power loss.
    var syncedCommit: LogIndex = 0
    var unsyncedCommits: [LogIndex] = []
    var pendingWrite: PendingWrite?
    /// Bumped by every crash; messages addressed to an earlier life are dropped.
    private(set) var life = 0
    /// The incarnation of the disk (`RaftConfig.incarnation`): new whenever the disk is lost.
    private(set) var incarnation: Incarnation = .initial
    /// The node does nothing (no ticks, no deliveries, no writes) before this time.
    var pausedUntil: UInt64 = 0
    /// When the node next ticks, and how many time units its ticks are apart.
    var nextTickAt: UInt64
    var tickPeriod: UInt64
    var waitingProposals: [LogIndex: WaitingProposal] = [:]
    /// Reads waiting for their ReadState, by read id.
    var pendingReads: [UInt64: PendingRead] = [:]
    /// Reads that arrived while the node was frozen, handled when it wakes up.
    var inbox: [PendingRead] = []
    /// Reads with a ReadState, waiting for the state machine to reach its index.
    var confirmedReads: [(state: ReadState, read: PendingRead)] = []
    /// Writes forwarded to the leader, by forward id.
    var forwards: [UInt64: PendingForward] = [:]
    /// Reads that asked the leader for a read index, by read id, until `deadline`.
    var remoteReads: [UInt64: (read: PendingRead, deadline: UInt64)] = [:]
    /// Read-index requests from followers, by the id this node's core knows them by.
    var readIndexRequests: [UInt64: ForwardOrigin] = [:]
    /// The reason of the last proposal this node refused, to trace each reason once.
    var lastRefusal: String?
    /// Something happened to the core since it last said it had no `Ready` (asking costs
    /// time, and most nodes are idle in most time units).
    var mayHaveReady = true
    /// Role and term as last observed, to notice elections and step-downs.
    var observedRole: Role = .follower
    var observedTerm: Term = 0
    /// The last batch the owner sent (its size and first message), to tell a Ready whose
    /// messages left before its write.
    var lastSentBatch: (count: Int, first: Message?) = (0, nil)

    /// A node whose disk holds `initialLog`, committed, and no membership before it (the
    /// membership is in the log, as on a server).
    init(id: NodeID, initialLog: [Entry], nextTickAt: UInt64, tickPeriod: UInt64) {
        self.id = id
        let nothing = Configuration(voters: [])
        storage = MemoryStorage(configuration: nothing)
        storage.append(initialLog)
        storage.setHardState(HardState(term: initialLog.last?.term ?? 0, vote: .none, commit: storage.lastIndex))
        stateMachine = OpStateMachine(configuration: nothing)
        storeSynced = stateMachine
        self.nextTickAt = nextTickAt
        self.tickPeriod = tickPeriod
    }

    var isUp: Bool { pipeline != nil }

    func isPaused(at now: UInt64) -> Bool { now < pausedUntil }

    /// The snapshot index on disk.
    var snapshotIndex: LogIndex {
        (try? storage.snapshot().metadata.index) ?? 0
    }

    /// Starts the core on what the disk holds, with a pipeline whose owner is `owner`. The
    /// caller restores `stateMachine` first.
    func start(config: RaftConfig, owner: SimulatedOwner) {
        precondition(pipeline == nil, "n\(id) is already running")
        let raft = RaftNode(config: config, storage: storage)
        self.owner = owner
        pipeline = ReadyPipeline(node: raft, owner: owner)
        mayHaveReady = true
        observedRole = .follower
        observedTerm = storage.hardState.term
        lastSentBatch = (0, nil)
    }

    /// Drops everything volatile — the core, its pipeline and the write in flight — and keeps
    /// a copy of the disk, as a power cut would. Returns the write that was lost, if any.
    func crash() -> PendingWrite? {
        let lost = pendingWrite
        pipeline = nil
        owner = nil
        pendingWrite = nil
        storage = storage.copy()
        life += 1
        pausedUntil = 0
        waitingProposals = [:]
        pendingReads = [:]
        confirmedReads = []
        inbox = []
        forwards = [:]
        remoteReads = [:]
        readIndexRequests = [:]
        observedRole = .follower
        return lost
    }

    /// The disk is gone (the node must be down): an empty log, an empty state machine, no
    /// membership, and a new `incarnation` (or the old one, for a server without incarnations).
    func loseDisk(incarnation newIncarnation: Incarnation) {
        precondition(pipeline == nil, "n\(id) must be down to lose its disk")
        let nothing = Configuration(voters: [])
        storage = MemoryStorage(configuration: nothing)
        stateMachine = OpStateMachine(configuration: nothing)
        storeSynced = stateMachine
        storeTransactions = []
        incarnation = newIncarnation
    }
}
