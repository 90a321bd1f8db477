import BerthRaft
import BerthStorage
import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Drives one `RaftNode` on a dedicated event loop: ticks, incoming messages, proposals and
/// reads all run there, one at a time, and every `Ready` is carried out in the documented order
/// (persist with one fsync → send → apply → advance).
///
/// Work that arrives while a `Ready` is being persisted queues on the loop and is handed out in
/// the next `Ready`, so concurrent writers share fsyncs (group commit) without any extra timer.
final class RaftLoop: @unchecked Sendable {
    // Everything below is touched only on `eventLoop`.
    let eventLoop: any EventLoop
    private let node: RaftNode
    private let log: DurableLogStorage
    let state: StateStore
    private let config: ServerConfig
    private let logger: Logger
    private var transport: PeerTransport?
    private var drainScheduled = false
    private var ticker: RepeatedTask?
    private var stopped = false

    private var proposals: [LogIndex: PendingProposal] = [:]
    private var nextReadID: UInt64 = 1
    private var readsAwaitingIndex: [UInt64: EventLoopPromise<LogIndex>] = [:]
    private var readsAwaitingApply: [(index: LogIndex, promise: EventLoopPromise<Void>)] = []
    private var transferWaiter: (target: NodeID, promise: EventLoopPromise<Void>)?
    /// Called (on the Raft loop) after entries that change membership or member addresses
    /// were applied, so the transport can dial new members and drop removed ones.
    var onMembershipApplied: (@Sendable (RaftStatus) -> Void)?
    private var lastSnapshotIndex: LogIndex
    /// The size of the last snapshot, and the command bytes applied since it was taken.
    private var lastSnapshotBytes: Int
    private var appliedBytesSinceSnapshot = 0
    private var snapshotInProgress = false
    /// The index of the last configuration entry applied.
    private var lastConfigurationIndex: LogIndex = 0
    private let snapshotQueue = DispatchQueue(label: "berth.snapshot")
    private var lastStatus: BasicStatus
    /// `lastStatus` for other threads: request handlers decide lead/forward/refuse from it
    /// without a round trip through the loop.
    private let publishedStatus: NIOLockedValueBox<BasicStatus>

    private struct PendingProposal {
        var term: Term
        var promise: EventLoopPromise<CommandOutcome>
        var deadline: Scheduled<Void>
    }

    init(config: ServerConfig, eventLoop: any EventLoop, logger: Logger) throws {
        self.config = config
        self.eventLoop = eventLoop
        self.logger = logger
        log = try DurableLogStorage(
            dataDirectory: config.dataDir, initialConfiguration: Configuration(voters: []),
            options: .init(retainedEntriesAfterCompaction: config.snapshotRetainEntries))
        if log.lastIndex == 0, config.join == nil {
            try Self.bootstrap(log, voters: config.peers.keys.sorted())
        }
        if log.recoveryReport.repairedDamage {
            logger.warning("raft log recovered", metadata: ["report": "\(log.recoveryReport.description)"])
        }
        state = try StateStore(layout: log.layout)
        try state.restoreIfBehind(try log.snapshot())
        var raftConfig = RaftConfig(id: config.nodeID, randomSeed: UInt64.random(in: 0...UInt64.max))
        raftConfig.electionTicks = config.electionTicks
        raftConfig.heartbeatTicks = config.heartbeatTicks
        raftConfig.maxPendingProposals = config.maxPendingProposals
        raftConfig.maxMessageBytes = min(1 << 20, config.maxFrameBytes / 4)
        // The transport reports a finished snapshot; re-sending is only for one that was lost.
        raftConfig.snapshotRetryTicks = max(100, 30_000 / config.tickMilliseconds)
        raftConfig.appliedIndex = try state.lastApplied().index
        node = RaftNode(config: raftConfig, storage: log)
        let snapshot = try log.snapshot()
        lastSnapshotIndex = snapshot.metadata.index
        lastSnapshotBytes = snapshot.data.count
        lastStatus = node.basicStatus
        publishedStatus = NIOLockedValueBox(lastStatus)
    }

    /// Writes the initial membership as the first log entries, identically on every initial
    /// voter (term 1, committed by construction, as etcd bootstraps). Keeping it in the log
    /// rather than in a base snapshot means a server that joins later replays it too.
    static func bootstrap(_ log: DurableLogStorage, voters: [NodeID]) throws {
        var entries: [Entry] = []
        for voter in voters {
            for change in [ConfigChange.addLearner(voter), .promote(voter)] {
                entries.append(Entry(term: 1, index: LogIndex(entries.count + 1), payload: .configChange(change)))
            }
        }
        try log.save(
            hardState: HardState(term: 1, vote: .none, commit: LogIndex(entries.count)), entries: entries, snapshot: nil
        )
    }

    /// Connects the transport and starts ticking.
    func start(transport: PeerTransport) {
        eventLoop.execute {
            self.transport = transport
            self.onMembershipApplied?(self.node.status)
            self.ticker = self.eventLoop.scheduleRepeatedTask(
                initialDelay: .milliseconds(Int64(self.config.tickMilliseconds)),
                delay: .milliseconds(Int64(self.config.tickMilliseconds))
            ) { _ in
                self.node.tick()
                self.drain()
            }
        }
    }

    /// Stops ticking and fails everything still waiting.
    func stop() -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.stopped = true
            self.ticker?.cancel()
            for (_, pending) in self.proposals { pending.promise.fail(WriteFailure.shuttingDown) }
            self.proposals = [:]
            for (_, promise) in self.readsAwaitingIndex { promise.fail(WriteFailure.shuttingDown) }
            self.readsAwaitingIndex = [:]
            for read in self.readsAwaitingApply { read.promise.fail(WriteFailure.shuttingDown) }
            self.readsAwaitingApply = []
            self.log.close()
        }
    }

    // MARK: - Inputs

    /// A message from a peer (any thread).
    func receive(_ message: Message) {
        eventLoop.execute {
            guard !self.stopped else { return }
            self.node.step(message)
            self.scheduleDrain()
        }
    }

    /// The transport finished sending a snapshot to `peer` (any thread).
    func reportSnapshot(to peer: NodeID, succeeded: Bool) {
        eventLoop.execute {
            self.node.reportSnapshot(to: peer, succeeded: succeeded)
            self.scheduleDrain()
        }
    }

    /// The transport lost its connection to `peer` (any thread).
    func reportUnreachable(_ peer: NodeID) {
        eventLoop.execute { self.node.reportUnreachable(peer) }
    }

    /// Proposes `command` and completes when it is applied here, with its outcome.
    func propose(_ command: StateCommand) -> EventLoopFuture<CommandOutcome> {
        eventLoop.flatSubmit {
            guard !self.stopped else { return self.eventLoop.makeFailedFuture(WriteFailure.shuttingDown) }
            let ticket: ProposalTicket
            do {
                ticket = try self.node.propose(command.encoded())
            } catch {
                return self.eventLoop.makeFailedFuture(WriteFailure(error))
            }
            let promise = self.eventLoop.makePromise(of: CommandOutcome.self)
            let deadline = self.eventLoop.scheduleTask(in: .milliseconds(Int64(self.config.commitTimeoutMilliseconds)))
            {
                if let pending = self.proposals.removeValue(forKey: ticket.index) {
                    pending.promise.fail(WriteFailure.commitTimeout)
                }
            }
            self.proposals[ticket.index] = PendingProposal(term: ticket.term, promise: promise, deadline: deadline)
            self.scheduleDrain()
            return promise.futureResult
        }
    }

    /// Proposes a membership change and completes when it is applied here.
    func proposeConfigChange(_ change: ConfigChange) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let ticket: ProposalTicket
            do {
                ticket = try self.node.proposeConfigChange(change)
            } catch {
                return self.eventLoop.makeFailedFuture(error)
            }
            let promise = self.eventLoop.makePromise(of: CommandOutcome.self)
            let deadline = self.eventLoop.scheduleTask(in: .milliseconds(Int64(self.config.commitTimeoutMilliseconds)))
            {
                if let pending = self.proposals.removeValue(forKey: ticket.index) {
                    pending.promise.fail(WriteFailure.commitTimeout)
                }
            }
            self.proposals[ticket.index] = PendingProposal(term: ticket.term, promise: promise, deadline: deadline)
            self.scheduleDrain()
            return promise.futureResult.map { _ in }
        }
    }

    /// Leader only: confirms leadership with a quorum and returns the index a linearizable read
    /// must wait for (thesis §6.4).
    func readIndex() -> EventLoopFuture<LogIndex> {
        eventLoop.flatSubmit {
            let id = self.nextReadID
            self.nextReadID += 1
            do {
                try self.node.readIndex(id: id)
            } catch {
                return self.eventLoop.makeFailedFuture(WriteFailure(error))
            }
            let promise = self.eventLoop.makePromise(of: LogIndex.self)
            self.readsAwaitingIndex[id] = promise
            self.eventLoop.scheduleTask(in: .milliseconds(Int64(self.config.commitTimeoutMilliseconds))) {
                self.readsAwaitingIndex.removeValue(forKey: id)?.fail(WriteFailure.commitTimeout)
            }
            self.scheduleDrain()
            return promise.futureResult
        }
    }

    /// Completes once this node has applied `index`.
    func waitApplied(_ index: LogIndex) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            if self.node.basicStatus.applied >= index { return self.eventLoop.makeSucceededVoidFuture() }
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.readsAwaitingApply.append((index, promise))
            return promise.futureResult
        }
    }

    /// Hands leadership to `target`; completes when the target leads, fails with the reason.
    func transferLeadership(to target: NodeID) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            do {
                try self.node.transferLeadership(to: target)
            } catch {
                return self.eventLoop.makeFailedFuture(TransferFailure(error))
            }
            self.transferWaiter?.promise.fail(TransferFailure.superseded)
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.transferWaiter = (target, promise)
            self.scheduleDrain()
            return promise.futureResult
        }
    }

    /// The term, role, leader and indices as of the last `Ready` (any thread, no waiting).
    var basicStatus: BasicStatus { publishedStatus.withLockedValue { $0 } }

    /// The current Raft status.
    func status() -> EventLoopFuture<RaftStatus> {
        eventLoop.submit { self.node.status }
    }

    /// Raft log entries in `[from, from + limit)` that are still in the log.
    func entries(from: LogIndex, limit: Int) -> EventLoopFuture<(first: LogIndex, last: LogIndex, entries: [Entry])> {
        eventLoop.submit {
            let first = self.log.firstIndex
            let last = self.log.lastIndex
            let low = max(from, first)
            guard low <= last, limit > 0 else { return (first, last, []) }
            let high = min(last + 1, low + LogIndex(limit))
            let entries = (try? self.log.entries(from: low, to: high, maxBytes: .max)) ?? []
            return (first, last, entries)
        }
    }

    // MARK: - The Ready loop

    private func scheduleDrain() {
        guard !drainScheduled else { return }
        drainScheduled = true
        // Runs after everything already queued on the loop, so it all shares one Ready.
        eventLoop.execute {
            self.drainScheduled = false
            self.drain()
        }
    }

    private func drain() {
        guard !stopped else { return }
        while node.hasReady {
            let ready = node.ready()
            // A leader that stays leader in the same term and vote may send its appends while
            // its own fsync runs (thesis §10.2.1): the core counts the leader's entries toward a
            // majority only after advance(), and nothing else it sends promises durability.
            // Membership or member addresses changed: the transport re-syncs after advance().
            var membershipChanged = ready.snapshot != nil
            let status = node.basicStatus
            let sendFirst =
                lastStatus.role == .leader && status.role == .leader && status.term == lastStatus.term
                && status.vote == lastStatus.vote && ready.snapshot == nil
            if sendFirst { transport?.send(ready.messages) }
            do {
                try log.persist(ready)
            } catch {
                // Without durable storage this node must not answer anyone: stop it.
                logger.critical("cannot persist the raft log; stopping", metadata: ["error": "\(error)"])
                fatalError("raft log persist failed: \(error)")
            }
            if !sendFirst { transport?.send(ready.messages) }
            do {
                if let snapshot = ready.snapshot {
                    let restored = try state.restore(from: snapshot.data)
                    lastSnapshotIndex = snapshot.metadata.index
                    lastSnapshotBytes = snapshot.data.count
                    appliedBytesSinceSnapshot = 0
                    lastConfigurationIndex = snapshot.metadata.index
                    logger.info("installed snapshot from leader", metadata: ["index": "\(restored.index)"])
                    failProposals(upTo: snapshot.metadata.index)
                }
                let results = try state.apply(ready.committedEntries)
                for (entry, result) in zip(ready.committedEntries, results) {
                    if case .command(let bytes) = entry.payload { appliedBytesSinceSnapshot += bytes.count }
                    if case .configChange = entry.payload {
                        lastConfigurationIndex = entry.index
                        membershipChanged = true
                    }
                    if case .memberRecorded? = result.outcome { membershipChanged = true }
                    complete(entry: entry, result: result)
                }
            } catch {
                logger.critical("cannot apply committed entries; stopping", metadata: ["error": "\(error)"])
                fatalError("state machine apply failed: \(error)")
            }
            for read in ready.readStates {
                readsAwaitingIndex.removeValue(forKey: read.id)?.succeed(read.index)
            }
            for id in ready.failedReads {
                readsAwaitingIndex.removeValue(forKey: id)?.fail(WriteFailure.leadershipLost)
            }
            if let abort = ready.transferAborted, let waiter = transferWaiter, waiter.target == abort.target {
                transferWaiter = nil
                waiter.promise.fail(TransferFailure.aborted(abort))
            }
            if let soft = ready.softState {
                logger.info(
                    "raft role changed",
                    metadata: [
                        "role": "\(soft.role.rawValue)", "leader": "\(soft.leader)", "term": "\(node.status.term)",
                    ])
                if let waiter = transferWaiter, soft.leader == waiter.target {
                    transferWaiter = nil
                    waiter.promise.succeed()
                }
            }
            node.advance()
            lastStatus = node.basicStatus
            publishedStatus.withLockedValue { $0 = lastStatus }
            if membershipChanged { onMembershipApplied?(node.status) }
            releaseReads()
            maybeSnapshot()
        }
    }

    private func complete(entry: Entry, result: ApplyResult) {
        guard let pending = proposals.removeValue(forKey: entry.index) else { return }
        pending.deadline.cancel()
        guard pending.term == entry.term else {
            // Another leader's entry took this index: ours was lost before it committed.
            pending.promise.fail(WriteFailure.lostInLeaderChange)
            return
        }
        pending.promise.succeed(result.outcome ?? .noop)
    }

    private func failProposals(upTo index: LogIndex) {
        for (proposalIndex, pending) in proposals where proposalIndex <= index {
            pending.deadline.cancel()
            pending.promise.fail(WriteFailure.lostInLeaderChange)
            proposals[proposalIndex] = nil
        }
    }

    private func releaseReads() {
        guard !readsAwaitingApply.isEmpty else { return }
        let applied = lastStatus.applied
        readsAwaitingApply.removeAll { read in
            guard read.index <= applied else { return false }
            read.promise.succeed()
            return true
        }
    }

    private func maybeSnapshot() {
        let applied = lastStatus.applied
        guard !snapshotInProgress, applied >= lastSnapshotIndex + LogIndex(config.snapshotThresholdEntries),
            appliedBytesSinceSnapshot >= Self.logGrowthBeforeSnapshot(lastSnapshotBytes: lastSnapshotBytes)
        else {
            return
        }
        snapshotInProgress = true
        let configuration = node.status.configuration
        let state = self.state
        // Copying the database takes time the Raft loop must not spend: heartbeats would stall
        // and followers would start elections. The copy runs elsewhere; only the (short) log
        // compaction comes back to the loop.
        snapshotQueue.async {
            let copied = Result { try state.snapshotData() }
            self.eventLoop.execute {
                guard case .success(let copy) = copied else {
                    self.snapshotFailed(copied, applied: applied)
                    return
                }
                // The membership captured when the copy started is only right if no
                // configuration entry was applied since; the term comes from the log.
                guard self.lastConfigurationIndex <= applied, let term = try? self.log.term(at: copy.applied.index)
                else {
                    self.snapshotInProgress = false
                    return
                }
                let snapshot = Snapshot(
                    metadata: SnapshotMetadata(index: copy.applied.index, term: term, configuration: configuration),
                    data: copy.data)
                let layout = self.log.layout
                // Writing the file (megabytes and an fsync) happens off the loop as well.
                self.snapshotQueue.async {
                    let written = Result { try DurableLogStorage.writeSnapshotFile(snapshot, layout: layout) }
                    self.eventLoop.execute {
                        self.snapshotInProgress = false
                        do {
                            try written.get()
                            try self.log.compact(
                                snapshotAt: snapshot.metadata.index, configuration: configuration,
                                data: snapshot.data, snapshotFileWritten: true)
                            self.lastSnapshotIndex = snapshot.metadata.index
                            self.lastSnapshotBytes = snapshot.data.count
                            self.appliedBytesSinceSnapshot = 0
                            self.logger.info(
                                "snapshot taken",
                                metadata: ["index": "\(snapshot.metadata.index)", "bytes": "\(snapshot.data.count)"])
                        } catch {
                            self.logger.error("log compaction failed; will retry", metadata: ["error": "\(error)"])
                            self.lastSnapshotIndex = applied
                        }
                    }
                }
            }
        }
    }

    /// How many command bytes must be applied since the last snapshot before the next: none
    /// while the state is small, then as many as the last snapshot held (thesis §5.1.1, an
    /// expansion factor of 1). A snapshot copies the whole database, so taking one every fixed
    /// number of entries costs more per write as the state grows — at 100 MB it would copy the
    /// database back to back under load. Tying it to growth keeps the copying to about one byte
    /// per byte written, and the log to about the size of the state.
    static func logGrowthBeforeSnapshot(lastSnapshotBytes: Int) -> Int {
        lastSnapshotBytes > smallStateBytes ? lastSnapshotBytes : 0
    }

    /// Below this a copy takes about a millisecond: the entry threshold alone decides.
    static let smallStateBytes = 1 << 20

    private func snapshotFailed(_ result: Result<StateSnapshot, any Error>, applied: LogIndex) {
        snapshotInProgress = false
        if case .failure(let error) = result {
            logger.error("snapshot failed; will retry", metadata: ["error": "\(error)"])
        }
        lastSnapshotIndex = applied
    }
}
