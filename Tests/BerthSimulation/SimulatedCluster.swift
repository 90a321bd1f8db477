import BerthRaft

/// A whole Raft cluster in one process, driven by one seed: N `RaftNode`s, their disks, a
/// simulated network and a simulated clock. Nothing here reads a real clock or the system
/// random generator, and nothing iterates an unordered collection in a way that matters, so a
/// seed replays exactly.
///
/// Time advances in whole time units with `step()`; each node ticks its core every
/// `timeUnitsPerTick` units. Within a step: writes that became durable complete (the node's
/// `ReadyPipeline` then sends, applies and advances), due messages are delivered, due ticks
/// run, then every node's pipeline runs: it hands out the next Ready and starts writing it, or,
/// while a write is under way, lets out what may leave early (heartbeats).
///
/// The checkers watch every fact as it happens; `violation` holds the first broken invariant.
/// `Simulation` builds a randomized run on top of this; `berth demo` and the scripted tests
/// drive it by hand (`propose`, `crash`, `restart`, `partition`, `run(ticks:)`).
public final class SimulatedCluster {
    /// Settings that shape the cluster; times are in time units unless named in ticks.
    public struct Options: Sendable {
        /// Time units between two ticks of a node's core.
        public var timeUnitsPerTick: UInt64 = 10
        /// `RaftConfig.electionTicks` for every node.
        public var electionTicks = 10
        /// `RaftConfig.heartbeatTicks` for every node.
        public var heartbeatTicks = 1
        /// `RaftConfig.maxMessageBytes`: small values split replication over many messages.
        public var maxMessageBytes = 1 << 20
        /// `RaftConfig.maxInflightMessages`: small values make the leader wait for answers.
        public var maxInflightMessages = 64
        /// `RaftConfig.maxApplyBytesPerReady`: small values spread applying over many Readys.
        public var maxApplyBytesPerReady = 4 << 20
        /// How long writing a Ready to disk takes; a crash in this window loses the write.
        public var persistDelay: ClosedRange<UInt64> = 1...3
        /// How long a message takes to arrive, when the network is healthy.
        public var networkDelay: ClosedRange<UInt64> = 1...5
        /// Give each node a tick period one unit shorter or longer than nominal (clock drift).
        public var clockSkew = false
        /// A node snapshots its state machine once it has applied this many entries past its
        /// last snapshot.
        public var snapshotEveryEntries: UInt64 = 24
        /// Entries kept before a snapshot, so slightly lagging followers need no snapshot.
        public var retainEntries = 4
        /// Events kept for failure reports.
        public var traceCapacity = 40
        /// A deliberately broken owner for the simulator's own tests
        /// (`ReadyPipeline.sendsEverythingBeforeWrite`): a Ready's messages leave as soon as it
        /// is handed out, before its write is durable. Votes and acknowledgements then outlive a
        /// crash that loses what they promised, and the checkers must notice.
        var sendsBeforePersisting = false
        /// Whether the owner checks that every message promises only what is durable (the
        /// simulator's own tests switch it off to see the Raft-level checkers catch the same bug).
        var checksPromises = true
        /// A node that lost its disk comes back under the incarnation it had — what a server
        /// without incarnations does — so nothing tells the others it forgot its votes and log.
        /// For the simulator's own tests: the checkers must catch what follows.
        var wipeKeepsIncarnation = false
        /// A crash is a power loss (`FaultProfile.tornWrites`): the write in flight leaves a prefix
        /// of its records, commit-only writes since the last fsync may be lost, and the state
        /// store rolls back to any transaction since its last sync.
        public var tornWrites = false
        /// Compaction writes snapshots without data, and a snapshot is sent with a copy of the
        /// sender's current state (`FaultProfile.dataLessSnapshots`), as the server does.
        public var dataLessSnapshots = false
        /// A follower forwards a client's write to the leader over the simulated network
        /// (`submit`), as the server does; otherwise it refuses with the leader's id.
        public var forwarding = true
        /// A follower serves a linearizable read by asking the leader for a read index over the
        /// simulated network, then waiting until it has applied it; otherwise it refuses.
        public var followerReads = true
        /// How long a follower waits for the leader's answer to a forward or a read-index
        /// request before telling its client the outcome is unknown (or the read failed).
        public var requestTimeout: UInt64 = 150

        public init() {}
    }

    /// Why a client request could not be handed to a node.
    public enum ClientError: Error, Equatable, Sendable {
        /// There is no node with this id.
        case unknownNode(NodeID)
        /// The node is down or frozen: the request went unanswered.
        case unavailable(NodeID)
        /// No node currently leads.
        case noLeader
        /// The node's core refused.
        case refused(RaftError)
    }

    /// What a node told a client, collected by `takeOutcomes()`.
    public enum ClientOutcome: Equatable, Sendable {
        /// The operation is applied at `index`.
        case acknowledged(client: Int, op: UInt64, node: NodeID, index: LogIndex)
        /// The node lost track of the operation (another entry took its index, the node crashed
        /// or skipped the index by installing a snapshot); it may or may not have committed.
        case proposalLost(client: Int, op: UInt64, node: NodeID)
        /// The node forwarded the write and never heard back (the link dropped the forward or
        /// its answer, or the leader crashed): it may or may not have committed.
        case outcomeUnknown(client: Int, op: UInt64, node: NodeID)
        /// The leader refused the forwarded write: it was not proposed.
        case writeFailed(client: Int, op: UInt64, node: NodeID, reason: RaftError)
        /// The read was served from a state machine at `applied`.
        case readServed(client: Int, read: UInt64, node: NodeID, applied: LogIndex)
        /// The read could not be confirmed.
        case readFailed(client: Int, read: UInt64, node: NodeID)
    }

    /// The seed everything in this cluster derives from.
    public let seed: UInt64
    public let options: Options
    /// The node ids, 1 ... N.
    public let nodeIDs: [NodeID]
    /// The current time, in time units since the start.
    public private(set) var now: UInt64 = 0
    /// Called with every event as it happens (the trace keeps only the last few).
    public var onEvent: ((SimulationEvent) -> Void)?
    /// What happened so far, as counts.
    public internal(set) var stats = SimulationStats()
    /// The newest membership any node has applied: the cluster's committed configuration as
    /// far as anyone knows. (A new leader's own view can lag it until it applies its log.)
    public internal(set) var committedConfiguration: Configuration

    /// Every client write and read, invoked and answered: the history the linearizability check
    /// judges (`checkConverged`).
    public let history = History()
    let network: SimulatedNetwork
    let checkers = Checkers()
    let nodes: [SimulatedNode]
    var rng: SplitMix64
    private var trace: EventTrace
    var outcomes: [ClientOutcome] = []
    var nextReadID: UInt64 = 1
    /// Counters for the ids nodes make up: internal keys for keyless writes, forwards, and
    /// the read-index requests a leader takes from followers.
    var nextInternalKey: UInt64 = 0
    var nextForwardID: UInt64 = 0
    var nextRemoteReadID: UInt64 = 0
    /// The target of the last leadership transfer requested, to count completed transfers.
    var transferTarget: NodeID = .none
    /// The index of the newest configuration entry any node has applied.
    var configurationAppliedAt: LogIndex = 0
    /// Every disk starts with this many committed entries of term 1: one `addLearner` and one
    /// `promote` per node, so the first entry a leader proposes lands after them.
    public let initialLogLength: LogIndex
    /// The last incarnation handed out to a node that lost its disk.
    private var nextIncarnation: Incarnation = .initial
    private var violationAnnounced = false

    /// A cluster of `nodeCount` voters, all up, no leader yet, healthy network.
    public init(nodeCount: Int, seed: UInt64, options: Options = Options()) {
        precondition(nodeCount >= 1, "a cluster needs a node")
        self.seed = seed
        self.options = options
        var rng = SplitMix64(seed: seed)
        nodeIDs = (1...nodeCount).map { NodeID($0) }
        let configuration = Configuration(voters: Set(nodeIDs))
        committedConfiguration = configuration
        // The membership is in the log, as on a server (which founds a cluster with `bootstrap()`
        // and admits the others one at a time): a node that loses its disk learns it again from
        // the log or a snapshot, never from anywhere else.
        var initialLog: [Entry] = []
        for id in nodeIDs {
            for change in [ConfigChange.addLearner(id, incarnation: .initial), .promote(id)] {
                initialLog.append(Entry(term: 1, index: LogIndex(initialLog.count + 1), payload: .configChange(change)))
            }
        }
        initialLogLength = LogIndex(initialLog.count)
        network = SimulatedNetwork(rng: rng.split(), delay: options.networkDelay)
        nodes = nodeIDs.map { id in
            var period = options.timeUnitsPerTick
            if options.clockSkew && period > 1 { period = period - 1 + rng.time(in: 0...2) }
            return SimulatedNode(
                id: id, initialLog: initialLog, nextTickAt: 1 + rng.time(in: 0...(period - 1)),
                tickPeriod: period)
        }
        self.rng = rng
        trace = EventTrace(capacity: options.traceCapacity)
        checkers.checksPromises = options.checksPromises
        for node in nodes { start(node, appliedIndex: 0) }
    }

    // MARK: - Time

    /// Advances time by one unit and does everything due.
    public func step() {
        now += 1
        checkers.now = now
        guard violation == nil else { return }
        for node in nodes where node.isUp && !node.isPaused(at: now) {
            if !node.inbox.isEmpty { drainInbox(of: node) }
            if !node.forwards.isEmpty || !node.remoteReads.isEmpty { expireRequests(on: node) }
        }
        for node in nodes where node.isUp && !node.isPaused(at: now) {
            if let write = node.pendingWrite, write.dueAt <= now { completeWrite(on: node) }
        }
        for flight in network.takeDue(at: now) {
            deliver(flight)
        }
        for node in nodes where node.isUp && node.nextTickAt <= now {
            if node.isPaused(at: now) {
                node.nextTickAt = node.pausedUntil
                continue
            }
            node.nextTickAt += node.tickPeriod
            node.raft?.tick()
            observe(node)
        }
        for node in nodes where node.isUp && !node.isPaused(at: now) {
            drive(node)
        }
        announceViolation()
    }

    /// Runs for `ticks` ticks (or until an invariant breaks).
    public func run(ticks: Int) {
        for _ in 0..<(UInt64(ticks) * options.timeUnitsPerTick) {
            step()
            if violation != nil { return }
        }
    }

    /// Runs until `condition` holds (checked once per tick) or `maxTicks` pass; returns whether
    /// it held.
    @discardableResult
    public func run(maxTicks: Int, until condition: (SimulatedCluster) -> Bool) -> Bool {
        for _ in 0..<maxTicks {
            if condition(self) { return true }
            run(ticks: 1)
            if violation != nil { return false }
        }
        return condition(self)
    }

    // MARK: - What can be seen

    /// The first invariant that broke, if any.
    public var violation: Violation? { checkers.violation }

    /// The node that leads in the highest term among running nodes, if any.
    public var leader: NodeID? { leaderAndTerm?.node }

    /// The leader and its term, from the roles observed after every call into a core (cheaper
    /// than asking each core for its status).
    var leaderAndTerm: (node: NodeID, term: Term)? {
        var best: (node: NodeID, term: Term)?
        for node in nodes where node.isUp && node.observedRole == .leader {
            if best == nil || node.observedTerm > best!.term { best = (node.id, node.observedTerm) }
        }
        return best
    }

    /// The core's status of a running node.
    public func status(of id: NodeID) -> RaftStatus? { node(id)?.raft?.status }

    /// Whether node `id` is running (it may still be paused).
    public func isUp(_ id: NodeID) -> Bool { node(id)?.isUp ?? false }

    /// Whether node `id` is frozen right now.
    public func isPaused(_ id: NodeID) -> Bool { node(id)?.isPaused(at: now) ?? false }

    /// The incarnation node `id` runs (or will run, while down) under.
    public func incarnation(of id: NodeID) -> Incarnation { node(id)?.incarnation ?? .initial }

    /// Whether every node is a voter admitted under the incarnation it runs — in the newest
    /// committed membership and in the one each node has applied (a node that has not applied
    /// a recent change still counts votes by the one before): no learner, no member missing,
    /// no member that lost its disk and was not re-admitted yet. Only then may a disk be lost
    /// without taking a quorum with it.
    public var everyNodeAdmitted: Bool {
        let admitsEveryNode = { (configuration: Configuration) -> Bool in
            configuration.voters.count == self.nodeIDs.count && configuration.learners.isEmpty
                && self.nodeIDs.allSatisfy { configuration.incarnation(of: $0) == self.incarnation(of: $0) }
        }
        guard admitsEveryNode(committedConfiguration) else { return false }
        // A running core's membership; a stopped node's as its state store holds it.
        return nodes.allSatisfy { admitsEveryNode($0.raft?.status.configuration ?? $0.stateMachine.configuration) }
    }

    /// Whether node `id` has a Ready being written (a crash now would lose it).
    public func isWriting(_ id: NodeID) -> Bool { node(id)?.pendingWrite != nil }

    /// Whether node `id` is writing entries that replace entries on its disk (a new leader's
    /// entries over a follower's uncommitted tail): the write a power loss can hurt most.
    public func isRewritingLog(_ id: NodeID) -> Bool {
        guard let node = node(id), let first = node.pendingWrite?.ready.entries.first else { return false }
        return first.index <= node.storage.lastIndex
    }

    /// The client operations node `id` has applied, in order (empty while it is down).
    public func appliedOps(of id: NodeID) -> [UInt64] {
        guard let node = node(id), node.isUp else { return [] }
        return node.stateMachine.ops
    }

    /// The last log index node `id` has applied (0 while it is down).
    public func appliedIndex(of id: NodeID) -> LogIndex {
        guard let node = node(id), node.isUp else { return 0 }
        return node.stateMachine.appliedIndex
    }

    /// Whether some node has told a client that `op` is done.
    public func isAcknowledged(_ op: UInt64) -> Bool { checkers.isAcknowledged(op) }

    /// The last `options.traceCapacity` events, oldest first.
    public var recentEvents: [SimulationEvent] { trace.events }

    /// Client answers since the last call.
    public func takeOutcomes() -> [ClientOutcome] {
        defer { outcomes = [] }
        return outcomes
    }

    /// A hash of the cluster's observable state, equal for two runs exactly when they did the
    /// same thing (used to check that a seed replays).
    public var fingerprint: UInt64 {
        var digest = mixDigest(now, UInt64(trace.count))
        for value in [
            stats.elections, stats.crashes, stats.proposals, stats.acknowledged, stats.readsServed,
            stats.snapshotsInstalled, network.sentCount, network.lostCount, network.duplicatedCount,
        ] {
            digest = mixDigest(digest, UInt64(value))
        }
        for node in nodes {
            digest = mixDigest(digest, node.stateMachine.digest)
            digest = mixDigest(digest, node.storage.hardState.term)
            digest = mixDigest(digest, node.storage.lastIndex)
        }
        return digest
    }

    // MARK: - Leadership and membership

    /// Asks the current leader to hand leadership to `target`.
    @discardableResult
    public func transferLeadership(to target: NodeID) -> Result<Void, ClientError> {
        guard let leader, let node = node(leader), let raft = node.raft else { return .failure(.noLeader) }
        do {
            try raft.transferLeadership(to: target)
        } catch {
            return .failure(.refused(error))
        }
        stats.transfersRequested += 1
        transferTarget = target
        record(.transferRequested(from: leader, to: target))
        observe(node)
        return .success(())
    }

    /// Proposes a membership change at the current leader.
    @discardableResult
    public func proposeConfigChange(_ change: ConfigChange) -> Result<ProposalTicket, ClientError> {
        guard let leader, let node = node(leader), let raft = node.raft else { return .failure(.noLeader) }
        do {
            let ticket = try raft.proposeConfigChange(change)
            node.mayHaveReady = true
            stats.configChanges += 1
            if case .rejoin = change { stats.rejoins += 1 }
            wait(for: SimulatedNode.WaitingProposal(client: 0, op: nil, ticket: ticket), on: node)
            record(.configChangeProposed(node: leader, change: change, ticket: ticket))
            return .success(ticket)
        } catch {
            return .failure(.refused(error))
        }
    }

    /// Starts an election at node `id` now.
    public func campaign(_ id: NodeID) {
        guard let node = node(id), let raft = node.raft else { return }
        raft.campaign()
        observe(node)
    }

    // MARK: - Faults

    /// Crashes node `id`: its core, state machine, unfinished write and the messages in flight
    /// to it are gone; its disk stays.
    public func crash(_ id: NodeID) {
        guard let node = node(id), node.isUp else { return }
        let waiting = node.waitingProposals.keys.sorted().compactMap { node.waitingProposals[$0] }
        let reads =
            node.pendingReads.keys.sorted().compactMap { node.pendingReads[$0] } + node.confirmedReads.map(\.read)
            + node.inbox + node.remoteReads.keys.sorted().compactMap { node.remoteReads[$0]?.read }
        let forwards = node.forwards.keys.sorted().compactMap { node.forwards[$0] }
        checkers.nodeCrashed(id)
        if options.tornWrites { losePower(on: node) }
        let lost = node.crash()
        stats.crashes += 1
        if lost?.ready.mustSync == true { stats.unsyncedWritesLost += 1 }
        record(
            .crashed(
                node: id, lostEntries: lost?.ready.entries.count ?? 0, lostHardState: lost?.ready.hardState != nil,
                lostMessages: lost.map { $0.messagesSentFirst ? 0 : $0.ready.messages.count } ?? 0))
        for proposal in waiting where proposal.forwardedFrom == nil { lose(proposal, at: node, announce: false) }
        // The client's connection to the node drops: it cannot know what became of its write.
        for forward in forwards {
            stats.outcomesUnknown += 1
            outcomes.append(.outcomeUnknown(client: forward.client, op: forward.op, node: id))
        }
        for read in reads {
            stats.readsFailed += 1
            history.readFailed(read.id)
            outcomes.append(.readFailed(client: read.client, read: read.id, node: id))
        }
    }

    /// Node `id` loses its disk: it crashes (if up), and its log, hard state and state machine
    /// are gone. `restart` then starts it empty under a new incarnation, as a server whose data
    /// directory was lost: it forgot its votes and its log, so the cluster must not count it
    /// until it is re-admitted (`ConfigChange.rejoin`).
    public func wipe(_ id: NodeID) {
        guard let node = node(id) else { return }
        crash(id)
        nextIncarnation += 1
        let incarnation = options.wipeKeepsIncarnation ? node.incarnation : nextIncarnation
        node.loseDisk(incarnation: incarnation)
        stats.disksLost += 1
        record(.diskLost(node: id, incarnation: incarnation))
    }

    /// Restarts node `id` from its disk: the state machine from the snapshot, the core from the
    /// hard state and log.
    public func restart(_ id: NodeID) {
        guard let node = node(id), !node.isUp else { return }
        let storage = node.storage
        let snapshot: Snapshot
        do {
            snapshot = try storage.snapshot()
        } catch {
            checkers.fail(.readyContract, "n\(id)'s disk has no snapshot: \(error)")
            return
        }
        // Recovery, as the server's: entries a commit index covered may have been in a torn
        // tail (never fsynced, so never acknowledged); the commit index is only a hint.
        if storage.hardState.commit > storage.lastIndex {
            var hardState = storage.hardState
            hardState.commit = storage.lastIndex
            storage.setHardState(hardState)
        }
        // The state store survived; it is restored from the snapshot only when it is behind it
        // (a crash between installing a leader's snapshot and restoring it). A snapshot without
        // data is this store's own compaction, which synced it first: it cannot be behind one.
        var store = node.stateMachine
        if store.appliedIndex < snapshot.metadata.index {
            guard !snapshot.data.isEmpty else {
                checkers.fail(
                    .durability,
                    "n\(id)'s state store came back at index \(store.appliedIndex), behind its log's snapshot at "
                        + "\(snapshot.metadata.index), which holds no data: applied entries are lost")
                return
            }
            guard let machine = OpStateMachine(snapshot: snapshot) else {
                checkers.fail(.readyContract, "n\(id)'s snapshot at \(snapshot.metadata.index) does not decode")
                return
            }
            store = machine
        }
        node.stateMachine = store
        node.storeSynced = store
        node.storeTransactions = []
        node.syncedCommit = storage.hardState.commit
        node.unsyncedCommits = []
        checkers.nodeRestoredSnapshot(
            id, index: store.appliedIndex, term: store.appliedTerm, digest: store.digest,
            nodeTerm: storage.hardState.term)
        // The core starts where the store is, but never past the log's end: a newer copy's
        // entries reach the log later, and the owner skips them then.
        let appliedIndex = max(min(store.appliedIndex, storage.lastIndex), snapshot.metadata.index)
        start(node, appliedIndex: appliedIndex)
        node.coreApplied = appliedIndex
        node.nextTickAt = now + 1 + rng.time(in: 0...(node.tickPeriod - 1))
        stats.restarts += 1
        record(
            .restarted(
                node: id, term: node.storage.hardState.term, snapshotIndex: snapshot.metadata.index,
                lastIndex: node.storage.lastIndex))
        observe(node)
    }

    /// Freezes node `id` for `duration` time units: no ticks, no deliveries (they wait), no
    /// disk progress. Models a long GC pause or a stalled VM.
    public func pause(_ id: NodeID, for duration: UInt64) {
        guard let node = node(id), node.isUp else { return }
        node.pausedUntil = max(node.pausedUntil, now + duration)
        stats.pauses += 1
        record(.paused(node: id, until: node.pausedUntil))
    }

    /// Ends every pause now.
    public func resumeAll() {
        for node in nodes { node.pausedUntil = min(node.pausedUntil, now) }
    }

    /// Splits the network into `groups`; messages between groups are dropped, both ways.
    public func partition(_ groups: [[NodeID]]) {
        network.partition(groups)
        stats.partitions += 1
        record(.partitioned(groups: groups))
    }

    /// Drops messages from `from` to `to` only.
    public func blockLink(from: NodeID, to: NodeID) {
        network.block(from: from, to: to)
        stats.partitions += 1
        record(.linkBlocked(from: from, to: to))
    }

    /// Restores every link.
    public func healNetwork() {
        guard network.isPartitioned else { return }
        network.heal()
        record(.networkHealed)
    }

    /// Sets message loss and duplication (0 ... 1) and the delay range (time units).
    public func setNetworkQuality(loss: Double, duplicate: Double, delay: ClosedRange<UInt64>) {
        network.setQuality(loss: loss, duplicate: duplicate, delay: delay)
        record(
            .networkQuality(
                lossPercent: Int((loss * 100).rounded()), duplicatePercent: Int((duplicate * 100).rounded()),
                minDelay: delay.lowerBound, maxDelay: delay.upperBound))
    }

    /// Notes a phase of the run in the trace.
    public func announce(phase: String) {
        record(.phase(phase))
    }

    /// Checks, after the cluster has converged, that every running node holds every
    /// acknowledged operation exactly once, and that the client history is linearizable given
    /// the sequence of operations the nodes hold (`Linearizability`).
    public func checkConverged() {
        let machines = nodes.filter(\.isUp).map { ($0.id, $0.stateMachine) }
        checkers.checkFinal(machines)
        if violation == nil {
            let sequence = machines.map(\.1.ops).max { $0.count < $1.count } ?? []
            checkers.checkLinearizable(history, sequence: sequence)
        }
        announceViolation()
    }

    /// Totals that live in the network, copied into `stats`.
    var statsWithNetwork: SimulationStats {
        var result = stats
        result.messagesSent = network.sentCount
        result.messagesLost = network.lostCount
        result.messagesDuplicated = network.duplicatedCount
        return result
    }

    // MARK: - Helpers

    func node(_ id: NodeID) -> SimulatedNode? {
        guard id >= 1, id <= NodeID(nodes.count) else { return nil }
        return nodes[Int(id - 1)]
    }

    /// Starts the node's core and pipeline on its disk; the state machine is already restored.
    private func start(_ node: SimulatedNode, appliedIndex: LogIndex) {
        node.start(
            config: raftConfig(for: node.id, appliedIndex: appliedIndex),
            owner: SimulatedOwner(cluster: self, node: node))
        node.pipeline?.sendsEverythingBeforeWrite = options.sendsBeforePersisting
    }

    private func raftConfig(for id: NodeID, appliedIndex: LogIndex) -> RaftConfig {
        var config = RaftConfig(id: id, randomSeed: rng.next())
        config.electionTicks = options.electionTicks
        config.heartbeatTicks = options.heartbeatTicks
        config.maxMessageBytes = options.maxMessageBytes
        config.maxInflightMessages = options.maxInflightMessages
        config.maxApplyBytesPerReady = options.maxApplyBytesPerReady
        config.appliedIndex = appliedIndex
        config.incarnation = node(id)?.incarnation ?? .initial
        return config
    }

    func record(_ kind: SimulationEvent.Kind) {
        let event = SimulationEvent(time: now, kind: kind)
        trace.append(event)
        onEvent?(event)
    }

    func announceViolation() {
        guard !violationAnnounced, let violation else { return }
        violationAnnounced = true
        record(.violation(violation))
    }
}
