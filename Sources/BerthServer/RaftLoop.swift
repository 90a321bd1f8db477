import BerthRaft
import BerthStorage
import Dispatch
import Logging
import Metrics
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
    /// This data directory's incarnation (`raft/identity`).
    let incarnation: Incarnation
    /// Whether the log held anything when the node started; the transport's first hellos say so.
    let startedWithLog: Bool
    /// Whether the transport was told the log holds something (it never becomes empty again).
    private var reportedHasLog: Bool
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
    private var snapshotInProgress = false
    private let snapshotQueue = DispatchQueue(label: "berth.snapshot")
    private let metrics = NodeMetrics()
    private var lastKnownLeader: NodeID = .none
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
            dataDirectory: config.dataDir, nodeID: config.nodeID, initialConfiguration: Configuration(voters: []),
            options: .init(retainedEntriesAfterCompaction: config.snapshotRetainEntries))
        if log.recoveryReport.repairedDamage {
            logger.warning("raft log recovered", metadata: ["report": "\(log.recoveryReport.description)"])
        }
        incarnation = log.identity.incarnation
        startedWithLog = log.lastIndex > 0
        reportedHasLog = startedWithLog
        state = try StateStore(layout: log.layout)
        try state.restoreIfBehind(try log.snapshot())
        var raftConfig = RaftConfig(id: config.nodeID, randomSeed: UInt64.random(in: 0...UInt64.max))
        raftConfig.incarnation = incarnation
        raftConfig.electionTicks = config.electionTicks
        raftConfig.heartbeatTicks = config.heartbeatTicks
        raftConfig.maxPendingProposals = config.maxPendingProposals
        raftConfig.maxMessageBytes = min(1 << 20, config.maxFrameBytes / 4)
        // The transport reports a finished snapshot; re-sending is only for one that was lost.
        raftConfig.snapshotRetryTicks = max(100, 30_000 / config.tickMilliseconds)
        // A snapshot copy is made when it is sent, so the state it installs may be ahead of its
        // index (and of this log, if the node stopped before those entries arrived). The core
        // then counts from the log's end, and re-delivers what the state already holds, which
        // apply skips (`.alreadyApplied`).
        raftConfig.appliedIndex = min(try state.lastApplied().index, log.lastIndex)
        node = RaftNode(config: raftConfig, storage: log)
        lastSnapshotIndex = try log.snapshot().metadata.index
        lastStatus = node.basicStatus
        publishedStatus = NIOLockedValueBox(lastStatus)
    }

    /// Connects the transport and starts ticking.
    func start(transport: PeerTransport) {
        eventLoop.execute {
            self.transport = transport
            self.reportHasLog()
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

    /// Founds a new cluster with this node as its only voter (`RaftNode.bootstrap`); the caller
    /// has made sure no cluster exists yet.
    func bootstrap() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            do {
                try self.node.bootstrap()
            } catch {
                return self.eventLoop.makeFailedFuture(error)
            }
            self.scheduleDrain()
            return self.eventLoop.makeSucceededVoidFuture()
        }
    }

    private func reportHasLog() {
        guard !reportedHasLog, log.lastIndex > 0 else { return }
        reportedHasLog = true
        transport?.setHasLog(true)
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
            return self.awaitApply(ticket)
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
            return self.awaitApply(ticket).map { _ in }
        }
    }

    /// The outcome of the proposal `ticket` once it is applied here, or a commit timeout.
    private func awaitApply(_ ticket: ProposalTicket) -> EventLoopFuture<CommandOutcome> {
        let promise = eventLoop.makePromise(of: CommandOutcome.self)
        let deadline = eventLoop.scheduleTask(in: .milliseconds(Int64(config.commitTimeoutMilliseconds))) {
            if let pending = self.proposals.removeValue(forKey: ticket.index) {
                self.metrics.proposalsFailed.increment()
                pending.promise.fail(WriteFailure.commitTimeout)
            }
        }
        proposals[ticket.index] = PendingProposal(term: ticket.term, promise: promise, deadline: deadline)
        scheduleDrain()
        return promise.futureResult
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
            let persistStart = DispatchTime.now().uptimeNanoseconds
            do {
                try log.persist(ready)
            } catch {
                // Without durable storage this node must not answer anyone: stop it.
                logger.critical("cannot persist the raft log; stopping", metadata: ["error": "\(error)"])
                fatalError("raft log persist failed: \(error)")
            }
            metrics.persistDuration.recordNanoseconds(
                Int64(DispatchTime.now().uptimeNanoseconds - persistStart))
            metrics.readies.increment()
            if !sendFirst { transport?.send(ready.messages) }
            do {
                if let snapshot = ready.snapshot {
                    let restored = try state.restore(from: snapshot.data)
                    lastSnapshotIndex = snapshot.metadata.index
                    logger.info("installed snapshot from leader", metadata: ["index": "\(restored.index)"])
                    metrics.snapshotsInstalled.increment()
                    failProposals(upTo: snapshot.metadata.index)
                }
                let applyStart = DispatchTime.now().uptimeNanoseconds
                let results = try state.apply(ready.committedEntries)
                if !ready.committedEntries.isEmpty {
                    metrics.applyDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - applyStart))
                    metrics.entriesApplied.increment(by: ready.committedEntries.count)
                }
                for (entry, result) in zip(ready.committedEntries, results) {
                    if case .configChange = entry.payload {
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
                        "role": "\(soft.role.rawValue)", "leader": "\(soft.leader)", "term": "\(node.basicStatus.term)",
                    ])
                if soft.leader != .none, soft.leader != lastKnownLeader {
                    lastKnownLeader = soft.leader
                    metrics.leaderChanges.increment()
                }
                metrics.isLeader.record(soft.role == .leader ? 1 : 0)
                if let waiter = transferWaiter, soft.leader == waiter.target {
                    transferWaiter = nil
                    waiter.promise.succeed()
                }
            }
            node.advance()
            lastStatus = node.basicStatus
            publishedStatus.withLockedValue { $0 = lastStatus }
            metrics.term.record(Int64(lastStatus.term))
            metrics.commitIndex.record(Int64(lastStatus.commit))
            metrics.appliedIndex.record(Int64(lastStatus.applied))
            if membershipChanged { onMembershipApplied?(node.status) }
            reportHasLog()
            releaseReads()
            maybeSnapshot()
        }
    }

    private func complete(entry: Entry, result: ApplyResult) {
        guard let pending = proposals.removeValue(forKey: entry.index) else { return }
        pending.deadline.cancel()
        guard pending.term == entry.term else {
            // Another leader's entry took this index: ours was lost before it committed.
            metrics.proposalsFailed.increment()
            pending.promise.fail(WriteFailure.lostInLeaderChange)
            return
        }
        pending.promise.succeed(result.outcome ?? .noop)
    }

    private func failProposals(upTo index: LogIndex) {
        for (proposalIndex, pending) in proposals where proposalIndex <= index {
            pending.deadline.cancel()
            metrics.proposalsFailed.increment()
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

    /// Compacts the log every `snapshotThresholdEntries` applied entries without copying the
    /// state (etcd's approach): the SQLite database already holds the state at the applied
    /// index, so it is made durable (fsync, off the loop) and the log is cut behind that index
    /// with a snapshot that carries no data. A follower that needs the state gets a copy made
    /// when it is sent (`StateStore.snapshotData`, possibly newer than the snapshot's index —
    /// the applies it already holds are skipped). Copying the whole database here instead cost
    /// a core for seconds once the state reached 100 MB.
    private func maybeSnapshot() {
        let applied = lastStatus.applied
        guard !snapshotInProgress, applied >= lastSnapshotIndex + LogIndex(config.snapshotThresholdEntries) else {
            return
        }
        guard let term = try? log.term(at: applied) else { return }
        snapshotInProgress = true
        // The membership as of `applied`, which is what the core reports now.
        let snapshot = Snapshot(
            metadata: SnapshotMetadata(index: applied, term: term, configuration: node.status.configuration),
            data: [])
        let state = self.state
        let layout = log.layout
        snapshotQueue.async {
            let written = Result {
                try state.syncToDisk()
                try DurableLogStorage.writeSnapshotFile(snapshot, layout: layout)
            }
            self.eventLoop.execute {
                self.snapshotInProgress = false
                do {
                    try written.get()
                    try self.log.compact(
                        snapshotAt: applied, configuration: snapshot.metadata.configuration, data: [],
                        snapshotFileWritten: true)
                    self.lastSnapshotIndex = applied
                    self.metrics.logCompactions.increment()
                    self.logger.info("log compacted", metadata: ["index": "\(applied)"])
                } catch {
                    self.logger.error("log compaction failed; will retry", metadata: ["error": "\(error)"])
                    self.lastSnapshotIndex = applied
                }
            }
        }
    }
}
