/// One Raft server as a pure, deterministic state machine (etcd's `raft` with a `RawNode` face).
///
/// It never sends, writes, sleeps or reads a clock. The owner drives it with `tick()` and
/// `step(_:)`, asks it for work with `ready()`, carries that out in the order documented on
/// `Ready`, and confirms with `advance()`. The same inputs always give the same outputs.
public final class RaftNode {
    let config: RaftConfig
    public let id: NodeID
    var log: RaftLog
    var rng: SplitMix64

    // Persistent state (§5, Figure 2); handed out through `Ready.hardState`.
    var term: Term = 0
    var vote: NodeID = .none

    // Volatile state.
    var role: Role = .follower
    var leader: NodeID = .none
    /// Membership as of `log.applying`.
    var configuration: Configuration
    /// Indices of configuration entries in the log that have not been handed out to apply yet.
    var pendingConfigIndices: [LogIndex] = []
    var electionElapsed = 0
    var heartbeatElapsed = 0
    /// Drawn from `[electionTicks, 2 × electionTicks)` each time the timer resets (§5.2).
    var randomizedElectionTicks = 0
    /// Votes (or pre-votes) received in the current campaign.
    var votes: [NodeID: Bool] = [:]
    /// Members heard from under an incarnation the configuration does not record (a lost
    /// disk), with that incarnation; their messages were not counted.
    var foreignIncarnations: [NodeID: Incarnation] = [:]
    /// Messages dropped because no correct peer sends them, and the last reason.
    var refusedMessages = 0
    var lastRefusal: String?

    // Leader state.
    var progress: [NodeID: Progress] = [:]
    /// The voter leadership is being handed to (thesis §3.10), or `.none`.
    var transferTarget: NodeID = .none
    var reads = ReadIndexQueue()
    /// Proposals arrived since the last `ready()`; one broadcast carries them all.
    var needsBroadcast = false

    // Output waiting for the next `ready()`.
    var messages: [Message] = []
    var readStates: [ReadState] = []
    var failedReads: [UInt64] = []
    var transferAborted: LeaderTransferAbort?

    // What the last `ready()` handed out, confirmed by `advance()`.
    var lastHardState: HardState
    /// The term and vote known durable: what the last `advance()` confirmed (or storage held at
    /// start). A candidate counts its own vote only once it is here.
    var durableTermVote: (term: Term, vote: NodeID)
    var lastSoftState: SoftState
    var handedOutLastEntry: (index: LogIndex, term: Term)?
    var handedOutSnapshot: LogIndex?
    var awaitingAdvance = false

    /// Restores a server from what `storage` holds (a fresh server when it is empty).
    public init(config: RaftConfig, storage: any LogStorage) {
        precondition(config.id != .none, "node ids start at 1")
        precondition(config.heartbeatTicks > 0 && config.heartbeatTicks < config.electionTicks)
        self.config = config
        id = config.id
        rng = SplitMix64(seed: config.randomSeed)
        let hardState = storage.initialState()
        let snapshot: Snapshot
        do { snapshot = try storage.snapshot() } catch { preconditionFailure("storage has no snapshot: \(error)") }
        log = RaftLog(storage: storage, committed: hardState.commit, applied: config.appliedIndex)
        term = hardState.term
        vote = hardState.vote
        lastHardState = hardState
        durableTermVote = (hardState.term, hardState.vote)
        lastSoftState = SoftState(leader: .none, role: .follower)
        configuration = snapshot.metadata.configuration
        // Membership is that of the applied prefix; later configuration entries wait their turn.
        let tail = (try? log.entries(from: snapshot.metadata.index + 1, to: log.lastIndex + 1, maxBytes: .max)) ?? []
        for entry in tail {
            guard case .configChange(let change) = entry.payload else { continue }
            if entry.index <= log.applied {
                if case .success(let next) = configuration.applying(change) { configuration = next }
            } else {
                pendingConfigIndices.append(entry.index)
            }
        }
        becomeFollower(term: term, leader: .none)
    }

    // MARK: - Inputs

    /// Advances the logical clock by one tick.
    public func tick() {
        if role == .leader {
            tickLeader()
        } else {
            tickElection()
        }
    }

    /// Founds a brand-new cluster with this server as its only voter (etcd's `Bootstrap`): the
    /// membership `{id}`, under this server's incarnation, becomes the first two entries,
    /// committed at once (a one-voter majority). Other servers then join it one at a time.
    /// Only a server whose log is empty may; the owner must know that no cluster exists yet.
    /// "Empty" also covers a log restored from a backup (`berth snapshot restore`): a base
    /// snapshot at some index with an empty membership and nothing after it. The cluster is then
    /// founded after that index, in the term after the snapshot's.
    public func bootstrap() throws(RaftError) {
        guard isUnfounded else { throw .logNotEmpty(lastIndex: log.lastIndex) }
        let base = log.lastIndex
        let baseTerm = log.lastTerm
        if term <= baseTerm { becomeFollower(term: baseTerm + 1, leader: .none) }
        appendEntries([
            Entry(
                term: term, index: base + 1, payload: .configChange(.addLearner(id, incarnation: config.incarnation))),
            Entry(term: term, index: base + 2, payload: .configChange(.promote(id))),
        ])
        log.advanceCommit(to: base + 2)
    }

    /// No cluster was ever founded in this log: nothing after the base snapshot, whose membership
    /// is empty (a new data directory, or one restored from a backup).
    public var isUnfounded: Bool {
        log.lastIndex == log.firstIndex - 1 && configuration.members.isEmpty
    }

    /// Starts an election now, as if the election timeout had passed.
    public func campaign() {
        startElection(transfer: false)
    }

    /// Appends `command` to the log. Only the leader accepts; a follower refuses with the leader
    /// to forward to, so the owner can forward instead of losing the proposal.
    @discardableResult
    public func propose(_ command: [UInt8]) throws(RaftError) -> ProposalTicket {
        try checkCanPropose()
        return appendProposal(.command(command))
    }

    /// Proposes a single-server membership change (thesis §4.1): one at a time, only after
    /// the leader committed an entry of its own term, and a learner is promoted only once
    /// caught up.
    @discardableResult
    public func proposeConfigChange(_ change: ConfigChange) throws(RaftError) -> ProposalTicket {
        try checkCanPropose()
        if let pending = pendingConfigIndices.last { throw .configChangeInProgress(index: pending) }
        guard log.term(at: log.committed) == term else { throw .leaderNotReady }
        if case .failure(let error) = configuration.applying(change) { throw .invalidConfigChange(error) }
        if case .rejoin(let member, _) = change, member == id { throw .invalidConfigChange(.rejoinOfLeader(member)) }
        if case .promote(let learner) = change, let learnerProgress = progress[learner] {
            let lag = log.lastIndex - min(learnerProgress.match, log.lastIndex)
            // A learner that never answered (match 0) is not caught up, however short the log.
            if lag > LogIndex(config.promotionMaxLagEntries) || learnerProgress.match == 0 {
                throw .learnerNotCaughtUp(node: learner, match: learnerProgress.match, leaderLast: log.lastIndex)
            }
        }
        return appendProposal(.configChange(change))
    }

    /// Asks for a linearizable read (thesis §6.4). The leader records its commit index and
    /// confirms with a quorum of heartbeats; then `ReadState(id, index)` appears in a `Ready`.
    /// If leadership is lost first, `id` appears in `Ready.failedReads`.
    public func readIndex(id readID: UInt64) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard reads.count < config.maxPendingReads else { throw .tooManyPendingReads(limit: config.maxPendingReads) }
        // Until an entry of this term commits, the leader's commit index may be stale (§6.4 step 1).
        if log.term(at: log.committed) != term {
            reads.defer(readID)
            return
        }
        confirmRead(readID)
    }

    /// Hands leadership to `target` (thesis §3.10): proposals stop, the target is brought up to
    /// date and told to start an election. If that has not happened within an election timeout
    /// the transfer is aborted and `Ready.transferAborted` says why.
    public func transferLeadership(to target: NodeID) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard target != id, configuration.voters.contains(target) else { throw .invalidTransferTarget(target) }
        if transferTarget == target { return }
        if transferTarget != .none { abortTransfer(.leadershipLost) }
        transferTarget = target
        // The transfer must finish within one election timeout (counted from now).
        electionElapsed = 0
        if progress[target]?.match == log.lastIndex {
            send(to: target, .timeoutNow)
        } else {
            sendAppend(to: target)
        }
    }

    /// The transport could not reach `peer`: stop streaming to it and probe instead.
    public func reportUnreachable(_ peer: NodeID) {
        guard role == .leader, progress[peer]?.state == .replicate else { return }
        progress[peer]?.becomeProbe()
    }

    /// The transport finished (or gave up) sending a snapshot to `peer`.
    public func reportSnapshot(to peer: NodeID, succeeded: Bool) {
        guard role == .leader, var peerProgress = progress[peer], peerProgress.state == .snapshot else { return }
        if !succeeded { peerProgress.pendingSnapshot = 0 }
        peerProgress.becomeProbe()
        // Wait for the follower's answer (or a heartbeat) before probing again.
        peerProgress.probeSent = true
        progress[peer] = peerProgress
    }

    // MARK: - Output

    /// Whether `ready()` has anything to hand out. False between `ready()` and `advance()`.
    public var hasReady: Bool {
        guard !awaitingAdvance else { return false }
        return needsBroadcast || !messages.isEmpty || currentHardState != lastHardState
            || currentSoftState != lastSoftState || !log.unstable.entries.isEmpty || log.unstable.snapshot != nil
            || log.hasEntriesToApply || !readStates.isEmpty || !failedReads.isEmpty || transferAborted != nil
    }

    /// Hands out everything pending. Carry it out as `Ready` documents, then call `advance()`.
    public func ready() -> Ready {
        precondition(!awaitingAdvance, "ready() called again before advance()")
        if needsBroadcast {
            needsBroadcast = false
            broadcastAppend()
        }
        var ready = Ready()
        var hardState = currentHardState
        if log.unstable.snapshot == nil, let first = log.unstable.entries.first?.index,
            first <= log.storage.lastIndex, hardState.commit >= first
        {
            // The hard state is persisted before the entries, so a power loss may keep it
            // alone: its commit must not cover stable entries that this Ready's entries
            // replace, or a restart would apply them. The next Ready carries the rest.
            hardState.commit = first - 1
        }
        if hardState != lastHardState {
            ready.hardState = hardState
            lastHardState = hardState
        }
        let softState = currentSoftState
        if softState != lastSoftState {
            ready.softState = softState
            lastSoftState = softState
        }
        if let snapshot = log.unstable.snapshot {
            ready.snapshot = snapshot
            handedOutSnapshot = snapshot.metadata.index
        }
        ready.entries = log.unstable.entries
        handedOutLastEntry = ready.entries.last.map { ($0.index, $0.term) }
        ready.committedEntries = log.takeEntriesToApply(maxBytes: config.maxApplyBytesPerReady)
        for entry in ready.committedEntries {
            if case .configChange(let change) = entry.payload { applyConfigChange(change, at: entry.index) }
        }
        ready.messages = messages
        messages = []
        ready.readStates = readStates
        readStates = []
        ready.failedReads = failedReads
        failedReads = []
        ready.transferAborted = transferAborted
        transferAborted = nil
        awaitingAdvance = true
        return ready
    }

    /// Messages that may leave while the last `Ready` is still being written, so that a slow
    /// disk does not silence the node: without them a leader stuck in one long fsync sends no
    /// heartbeats and its followers elect another.
    ///
    /// Only keep-alives qualify: a leader's heartbeats while its term and vote are those of the
    /// hard state already handed out, and a follower's answers to heartbeats in that term.
    /// Neither promises anything the write in flight has not made durable. Everything else —
    /// votes, acknowledgements, and appends, which batch better in the next `Ready` (group
    /// commit) — waits. Outside a write (between `advance()` and `ready()`) this returns
    /// nothing: the next `Ready` carries everything.
    public func takeMessagesSendableWhileWriting() -> [Message] {
        guard awaitingAdvance, !messages.isEmpty else { return [] }
        let steadyLeader = role == .leader && term == lastHardState.term && vote == lastHardState.vote
        var sendable: [Message] = []
        var kept: [Message] = []
        for message in messages {
            switch message.body {
            case .heartbeat where steadyLeader:
                sendable.append(message)
            case .heartbeatResponse where message.term == lastHardState.term:
                sendable.append(message)
            default:
                kept.append(message)
            }
        }
        messages = kept
        return sendable
    }

    /// Confirms the last `Ready` was carried out: persisted, sent and applied.
    public func advance() {
        precondition(awaitingAdvance, "advance() without ready()")
        awaitingAdvance = false
        if let index = handedOutSnapshot {
            log.unstable.stableSnapshot(at: index)
            handedOutSnapshot = nil
        }
        if let last = handedOutLastEntry {
            log.unstable.stable(to: last.index, term: last.term)
            handedOutLastEntry = nil
        }
        log.appliedHandedOut()
        durableTermVote = (lastHardState.term, lastHardState.vote)
        if role == .candidate {
            // The write that just finished may hold this campaign's own vote, which waited to count.
            tallyVotes()
        }
        if role == .leader {
            // The leader counts its own entries toward a majority only once they are durable.
            let stable = log.stableLastIndex
            if progress[id]?.maybeUpdate(stable) == true, maybeCommit() {
                needsBroadcast = true
            }
        }
    }

    /// A picture of this server's state.
    public var status: RaftStatus {
        RaftStatus(
            id: id, term: term, vote: vote, role: role, leader: leader, commit: log.committed,
            applied: log.applied, firstIndex: log.firstIndex, lastIndex: log.lastIndex,
            configuration: configuration, transferTarget: transferTarget, foreignIncarnations: foreignIncarnations,
            refusedMessages: refusedMessages, lastRefusal: lastRefusal,
            progress: progress.mapValues {
                FollowerProgress(
                    match: $0.match, next: $0.next, state: $0.state.rawValue, isLearner: $0.isLearner,
                    recentActive: $0.recentActive)
            })
    }

    /// The term, vote, role, leader and indices, without copying anything large.
    public var basicStatus: BasicStatus {
        BasicStatus(
            term: term, vote: vote, role: role, leader: leader, commit: log.committed, applied: log.applied,
            refusedMessages: refusedMessages)
    }

    var currentHardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    var currentSoftState: SoftState { SoftState(leader: leader, role: role) }

    /// Whether this server may stand for election: only voters may, under the incarnation the
    /// configuration admitted (a server replaying its way back after a lost disk is not one yet).
    var isPromotable: Bool {
        configuration.voters.contains(id) && configuration.incarnation(of: id) == config.incarnation
    }

    func send(to peer: NodeID, _ body: MessageBody, term messageTerm: Term? = nil) {
        messages.append(
            Message(from: id, to: peer, term: messageTerm ?? term, body: body, incarnation: config.incarnation))
    }

    // MARK: - Proposals

    private func checkCanPropose() throws(RaftError) {
        guard role == .leader else { throw .notLeader(leaderHint: leader) }
        guard transferTarget == .none else { throw .transferInProgress(target: transferTarget) }
        let pending = Int(log.lastIndex - log.committed)
        guard pending < config.maxPendingProposals else { throw .tooManyPending(limit: config.maxPendingProposals) }
    }

    private func appendProposal(_ payload: EntryPayload) -> ProposalTicket {
        let entry = Entry(term: term, index: log.lastIndex + 1, payload: payload)
        appendEntries([entry])
        needsBroadcast = true
        return ProposalTicket(index: entry.index, term: entry.term)
    }

    /// Appends entries the leader created, noting configuration entries.
    func appendEntries(_ entries: [Entry]) {
        log.append(entries)
        notePendingConfigs(in: entries)
    }

    func notePendingConfigs(in entries: [Entry]) {
        for entry in entries {
            if case .configChange = entry.payload { pendingConfigIndices.append(entry.index) }
        }
    }

    // MARK: - Membership

    /// Puts a committed membership change into force as it is handed out to apply.
    private func applyConfigChange(_ change: ConfigChange, at index: LogIndex) {
        pendingConfigIndices.removeAll { $0 <= index }
        // A change that no longer applies (say, a duplicate) changes nothing; the leader checked
        // it when proposing, so this only happens after a change raced another.
        guard case .success(let next) = configuration.applying(change) else { return }
        configuration = next
        if let admitted = configuration.incarnation(of: change.node), foreignIncarnations[change.node] == admitted {
            foreignIncarnations[change.node] = nil
        }
        guard role == .leader else { return }
        syncProgressWithConfiguration()
        if transferTarget != .none, !configuration.voters.contains(transferTarget) {
            abortTransfer(.targetRemoved)
        }
        if !configuration.voters.contains(id) {
            // A leader that removed itself steps down once the change is committed (thesis §4.2.2).
            becomeFollower(term: term, leader: .none)
            return
        }
        if maybeCommit() { needsBroadcast = true }
    }

    func syncProgressWithConfiguration() {
        for member in configuration.members.sorted() {
            let incarnation = configuration.incarnation(of: member) ?? .initial
            // A member admitted under a new incarnation holds nothing its old progress promised.
            if progress[member]?.incarnation != incarnation {
                var fresh = Progress(
                    next: log.lastIndex + 1, isLearner: false, maxInflight: config.maxInflightMessages,
                    incarnation: incarnation)
                fresh.recentActive = true
                progress[member] = fresh
            }
            progress[member]?.isLearner = configuration.learners.contains(member)
        }
        for member in progress.keys where !configuration.contains(member) {
            progress[member] = nil
        }
    }

    // MARK: - Leader transfer

    func abortTransfer(_ reason: LeaderTransferAbort.Reason) {
        guard transferTarget != .none else { return }
        transferAborted = LeaderTransferAbort(target: transferTarget, reason: reason)
        transferTarget = .none
    }
}
