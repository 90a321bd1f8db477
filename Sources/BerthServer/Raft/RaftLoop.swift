import BerthRaft
import BerthStorage
import Dispatch
import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore

/// Drives one `RaftNode` on a dedicated event loop: ticks, incoming messages, proposals and
/// reads all run there, one at a time. Readys are carried out by a `ReadyPipeline` — the same
/// code the simulator runs — with the log's write and fsync on a writer thread of their own
/// (`RaftLoop+Ready.swift`), so ticks and heartbeats go on while the disk works.
///
/// Work that arrives while a `Ready` is being written queues in the core and is handed out in
/// the next `Ready`, so concurrent writers share fsyncs (group commit) without any extra timer.
final class RaftLoop: @unchecked Sendable {
    // Everything below is touched only on `eventLoop`, except `log`'s file during a write,
    // which only the writer queue touches (`DurableLogStorage.perform`).
    let eventLoop: any EventLoop
    let node: RaftNode
    let log: DurableLogStorage
    let state: StateStore
    let config: ServerConfig
    let logger: Logger
    /// This data directory's incarnation (`raft/identity`).
    let incarnation: Incarnation
    /// Whether the log held anything when the node started; the transport's first hellos say so.
    let startedWithLog: Bool
    /// Whether the transport was told the log holds something (it never becomes empty again).
    var reportedHasLog: Bool
    var transport: PeerTransport?
    private var drainScheduled = false
    private var ticker: RepeatedTask?
    var stopped = false
    /// Carries out the core's Readys (set once, right after init).
    var pipeline: ReadyPipeline!
    /// Where the log's writes and fsyncs run, one at a time, off the loop.
    let writer = DispatchQueue(label: "berth.wal")
    /// Test-only: an extra delay before each fsync (`TestHooks`).
    let hooks: TestHooks
    /// Membership or member addresses changed in what was applied: the transport re-syncs.
    var membershipChanged = false
    /// A compaction whose snapshot file is written, waiting for the write in flight to end.
    var pendingCompaction: (index: LogIndex, configuration: Configuration)?

    /// Proposals waiting for their entry, by (index, term): a leader that lost and regained
    /// leadership may reuse an index, and each waiter must learn the fate of its own entry.
    var proposals = ProposalWaiters<PendingProposal>()
    private var nextReadID: UInt64 = 1
    var readsAwaitingIndex: [UInt64: EventLoopPromise<LogIndex>] = [:]
    var readsAwaitingApply: [(id: UInt64, index: LogIndex, promise: EventLoopPromise<Void>)] = []
    var transferWaiter: (target: NodeID, promise: EventLoopPromise<Void>)?
    /// Called (on the Raft loop) after entries that change membership or member addresses
    /// were applied, so the transport can dial new members and drop removed ones.
    var onMembershipApplied: (@Sendable (RaftStatus) -> Void)?
    var lastSnapshotIndex: LogIndex
    var snapshotInProgress = false
    let snapshotQueue = DispatchQueue(label: "berth.snapshot")
    let metrics = NodeMetrics()
    var lastKnownLeader: NodeID = .none
    var lastStatus: BasicStatus
    /// `lastStatus` for other threads: request handlers decide lead/forward/refuse from it
    /// without a round trip through the loop.
    let publishedStatus: NIOLockedValueBox<BasicStatus>

    struct PendingProposal {
        var promise: EventLoopPromise<CommandOutcome>
        var deadline: Scheduled<Void>
    }

    init(config: ServerConfig, eventLoop: any EventLoop, logger: Logger, hooks: TestHooks = TestHooks()) throws {
        self.config = config
        self.hooks = hooks
        self.eventLoop = eventLoop
        self.logger = logger
        log = try DurableLogStorage(
            dataDirectory: config.dataDir, nodeID: config.nodeID, initialConfiguration: Configuration(voters: []),
            options: .init(retainedEntriesAfterCompaction: config.snapshotRetainEntries))
        if log.recoveryReport.repairedDamage {
            logger.warning("raft log recovered", metadata: ["report": "\(log.recoveryReport.description)"])
        }
        incarnation = log.identity.incarnation
        // A log restored from a backup holds a base snapshot but no cluster yet: like a new one,
        // it does not count as a log (the lowest of --peers founds the cluster on it).
        let base = try log.snapshot().metadata
        startedWithLog = log.lastIndex > base.index || !base.configuration.members.isEmpty
        reportedHasLog = startedWithLog
        state = try StateStore(layout: log.layout)
        try state.restoreIfBehind(try log.snapshot(), incomingDirectory: log.layout.incomingSnapshotDirectory)
        // Received snapshots are restored, or were never persisted: nothing there is needed.
        IncomingSnapshot.removeLeftovers(in: log.layout.incomingSnapshotDirectory)
        var raftConfig = RaftConfig(id: config.nodeID, randomSeed: UInt64.random(in: 0...UInt64.max))
        raftConfig.incarnation = incarnation
        raftConfig.electionTicks = config.electionTicks
        raftConfig.heartbeatTicks = config.heartbeatTicks
        raftConfig.maxPendingProposals = config.maxPendingProposals
        raftConfig.maxMessageBytes = min(1 << 20, config.maxFrameBytes / 4)
        // One apply transaction holds the Raft loop: keep it short (a follower catching up on
        // a long cut would otherwise apply thousands of entries in one go, deaf meanwhile).
        raftConfig.maxApplyBytesPerReady = 256 << 10
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
        LogContext.setTerm(lastStatus.term, node: config.nodeID)
        publishedStatus = NIOLockedValueBox(lastStatus)
        pipeline = ReadyPipeline(node: node, owner: self)
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
                self.drive()
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

    func reportHasLog() {
        guard !reportedHasLog, !node.isUnfounded else { return }
        reportedHasLog = true
        transport?.setHasLog(true)
    }

    /// Stops ticking and fails everything still waiting.
    func stop() -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.stopped = true
            self.ticker?.cancel()
            for pending in self.proposals.removeAll() {
                // Proposed, so perhaps committed by the others: not a retryable failure.
                pending.promise.fail(
                    WriteFailure.outcomeUnknown(reason: "this node stopped before the write was applied"))
            }
            for (_, promise) in self.readsAwaitingIndex { promise.fail(WriteFailure.shuttingDown) }
            self.readsAwaitingIndex = [:]
            for waiter in self.statusWaiters { waiter.succeed() }
            self.statusWaiters = []
            for waiter in self.appliedWaiters { waiter.promise.succeed() }
            self.appliedWaiters = []
            for read in self.readsAwaitingApply { read.promise.fail(WriteFailure.shuttingDown) }
            self.readsAwaitingApply = []
            // After any write in flight: the writer queue owns the file until then.
            self.writer.async { self.log.close() }
        }
    }

    // MARK: - Inputs

    /// Peer messages handed to the loop and not yet stepped: bounded, so a flood from peers
    /// cannot grow the loop's queue without limit (Raft copes with the messages dropped).
    private let inboxCount = NIOLockedValueBox(0)
    static let maxInboxMessages = 8192

    /// A message from a peer (any thread).
    func receive(_ message: Message) {
        let admitted = inboxCount.withLockedValue { count -> Bool in
            guard count < Self.maxInboxMessages else { return false }
            count += 1
            return true
        }
        guard admitted else {
            metrics.inboxDropped.increment()
            return
        }
        eventLoop.execute {
            self.inboxCount.withLockedValue { $0 -= 1 }
            guard !self.stopped else { return }
            self.node.step(message)
            self.scheduleDrain()
        }
    }

    /// Test hook (`POST /debug/stall-raft-loop`): the loop's thread sleeps, as if one Ready took
    /// that long, while peers keep sending.
    func stallForTesting(milliseconds: Int) {
        guard hooks.enabled else { return }
        eventLoop.execute { usleep(UInt32(milliseconds) * 1000) }
    }

    /// Waiters for the next change of role, leader or term (`statusChange`).
    var statusWaiters: [EventLoopPromise<Void>] = []

    /// Completes once the published role, leader or term differs from `status`, or at
    /// `deadline` (never fails).
    func statusChange(from status: BasicStatus, until deadline: NIODeadline) async {
        let future: EventLoopFuture<Void> = eventLoop.flatSubmit {
            let current = self.lastStatus
            if current.role != status.role || current.leader != status.leader || current.term != status.term
                || self.stopped
            {
                return self.eventLoop.makeSucceededVoidFuture()
            }
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.statusWaiters.append(promise)
            self.eventLoop.scheduleTask(deadline: deadline) {
                self.statusWaiters.removeAll { $0 == promise }
                promise.succeed()
            }
            return promise.futureResult
        }
        try? await future.get()
    }

    /// Waiters for the applied index to pass a value (`appliedChange`).
    var appliedWaiters: [(after: LogIndex, promise: EventLoopPromise<Void>)] = []

    /// Completes once the published applied index is past `index`, or at `deadline` (never
    /// fails). Agents' action polls wait on it: their actions change only when entries apply,
    /// and a timer instead would add up to its period to every launch.
    func appliedChange(after index: LogIndex, until deadline: NIODeadline) async {
        let future: EventLoopFuture<Void> = eventLoop.flatSubmit {
            if self.lastStatus.applied > index || self.stopped {
                return self.eventLoop.makeSucceededVoidFuture()
            }
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.appliedWaiters.append((index, promise))
            self.eventLoop.scheduleTask(deadline: deadline) {
                self.appliedWaiters.removeAll { $0.promise == promise }
                promise.succeed()
            }
            return promise.futureResult
        }
        try? await future.get()
    }

    /// The last leader this node knew, for the `leader_hint` of a node that lost it.
    private let lastLeaderBox = NIOLockedValueBox<NodeID>(.none)
    var lastKnownLeaderHint: NodeID { lastLeaderBox.withLockedValue { $0 } }

    func noteLeader(_ leader: NodeID) {
        lastLeaderBox.withLockedValue { $0 = leader }
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
            if let pending = self.proposals.remove(ticket) {
                self.metrics.proposalsFailed.increment()
                pending.promise.fail(WriteFailure.commitTimeout)
            }
        }
        proposals.add(PendingProposal(promise: promise, deadline: deadline), for: ticket)
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
                self.readsAwaitingIndex.removeValue(forKey: id)?.fail(WriteFailure.readTimeout)
            }
            self.scheduleDrain()
            return promise.futureResult
        }
    }

    /// Completes once this node has applied `index`.
    /// Fails with `WriteFailure.readTimeout` after the commit deadline: a node that cannot
    /// catch up must answer rather than hold the client.
    func waitApplied(_ index: LogIndex) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            if self.node.basicStatus.applied >= index { return self.eventLoop.makeSucceededVoidFuture() }
            let promise = self.eventLoop.makePromise(of: Void.self)
            let id = self.nextReadID
            self.nextReadID += 1
            self.readsAwaitingApply.append((id, index, promise))
            self.eventLoop.scheduleTask(in: .milliseconds(Int64(self.config.commitTimeoutMilliseconds))) {
                guard let position = self.readsAwaitingApply.firstIndex(where: { $0.id == id }) else { return }
                self.readsAwaitingApply.remove(at: position).promise.fail(WriteFailure.readTimeout)
            }
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

    func scheduleDrain() {
        guard !drainScheduled else { return }
        drainScheduled = true
        // Runs after everything already queued on the loop, so it all shares one Ready.
        eventLoop.execute {
            self.drainScheduled = false
            self.drive()
        }
    }
}
