import BerthControlPlane
import BerthRaft
import BerthStorage
import BerthWire
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One control-plane node: the Raft loop, the peer transport and what the HTTP API asks of
/// them. Writes go to the leader (forwarded when this node follows); reads are local unless a
/// client asks for linearizable ones.
public final class BerthNode: Sendable {
    public let config: ServerConfig
    let raft: RaftLoop
    let transport: PeerTransport
    let logger: Logger
    /// For HTTP calls to other nodes (joining), trusting the cluster CA when TLS is on.
    let http: NodeHTTPClient
    /// Test-only fault injection (`BERTH_TEST_HOOKS=1`).
    let hooks: TestHooks
    /// When this server last heard from each agent (lost-node detection).
    let agentsHeard = AgentsHeard()
    private let raftGroup: MultiThreadedEventLoopGroup
    private let drainingBox = NIOLockedValueBox(false)
    private let stoppingBox = NIOLockedValueBox(false)
    /// The last status seen, for probes that must not wait on a busy Raft loop.
    private let startedAt = Date()

    public init(config: ServerConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        // The Raft loop gets a thread of its own: fsync blocks it, and nothing else should wait.
        raftGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        hooks = TestHooks.fromEnvironment(ProcessInfo.processInfo.environment)
        raft = try RaftLoop(config: config, eventLoop: raftGroup.next(), logger: logger, hooks: hooks)
        let policy = HandshakePolicy(clusterID: config.clusterID, nodeID: config.nodeID)
        transport = PeerTransport(
            settings: .init(
                policy: policy,
                hello: policy.hello(
                    httpAddress: config.httpListen.description, incarnation: raft.incarnation,
                    hasLog: raft.startedWithLog),
                maxFrameBytes: config.maxFrameBytes, snapshotChunkBytes: config.snapshotChunkBytes,
                incomingSnapshotDirectory: raft.log.layout.incomingSnapshotDirectory,
                tls: try config.tls.map { try PeerTLS(files: $0, logger: logger) }),
            peers: config.peers, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        // Last: a client of its own must be shut down, so nothing may throw after it exists.
        http = try NodeHTTPClient(tls: config.tls)
    }

    /// Binds the peer port and starts the Raft loop.
    public func start() async throws {
        let raft = self.raft
        transport.setHandlers(
            .init(
                deliver: { raft.receive($0) },
                snapshotFinished: { raft.reportSnapshot(to: $0, succeeded: $1) },
                linkLost: { raft.reportUnreachable($0) },
                copyState: { try SnapshotFileSource(path: try raft.state.snapshotFile().path) },
                executeForwarded: { [weak self] request, peer in
                    guard let self else {
                        return ForwardResponse(requestID: request.requestID, status: 503, payload: [])
                    }
                    return await self.executeForwarded(request, from: peer)
                }))
        raft.onMembershipApplied = { [weak self] status in self?.syncPeers(with: status) }
        try await transport.start(host: config.peerListen.host, port: config.peerListen.port)
        raft.start(transport: transport)
        admitIfNeeded()
        startPendingPlacer()
        startNodeSafetyLoop()
        startJobTicker()
        logger.info(
            "berth server started",
            metadata: [
                "node": "\(config.nodeID)", "peer": "\(config.peerListen)", "http": "\(config.httpListen)",
                "cluster": "\(config.clusterID)",
            ])
    }

    /// Stops everything; a leader first hands leadership to the most caught-up voter.
    public func stop() async {
        stoppingBox.withLockedValue { $0 = true }
        await handOffLeadership()
        await transport.shutdown()
        try? await raft.stop().get()
        try? await raftGroup.shutdownGracefully()
        await http.shutdown()
    }

    public var isDraining: Bool { drainingBox.withLockedValue { $0 } }

    /// `stop()` was called: background work (admission) gives up.
    var isStopping: Bool { stoppingBox.withLockedValue { $0 } }

    // MARK: - Leadership

    func status() async throws -> RaftStatus {
        try await raft.status().get()
    }

    /// Transfers leadership to the voter with the highest match index, if this node leads.
    @discardableResult
    func handOffLeadership() async -> NodeID? {
        guard let status = try? await status(), status.role == .leader else { return nil }
        let candidates = status.progress
            .filter { $0.key != config.nodeID && status.configuration.voters.contains($0.key) }
            .sorted { ($0.value.match, $0.key) > ($1.value.match, $1.key) }
        for (target, _) in candidates {
            do {
                try await raft.transferLeadership(to: target).get()
                logger.info("leadership handed off", metadata: ["to": "\(target)"])
                return target
            } catch {
                logger.warning("leadership hand-off failed", metadata: ["to": "\(target)", "error": "\(error)"])
            }
        }
        return nil
    }

    /// Stops taking new work (not ready, writes refused) and moves leadership away.
    func drain() async -> NodeID? {
        drainingBox.withLockedValue { $0 = true }
        logger.info("draining: /health/ready fails and new writes are refused")
        return await handOffLeadership()
    }

    // MARK: - Client requests

    /// Leader only: proposes the request's command and answers once it is applied.
    func execute(_ request: ClientRequest) async -> Attempt {
        switch request {
        case .createJob, .cancelJob, .recordEnvelope, .cordonNode, .reportLaunch, .terminateLaunch, .triggerJob,
            .setSchedulerPaused, .drainNode, .reportOrphans, .sweepOrphans, .createPlannedJob:
            break
        case .executeLaunch:
            return await executeLaunch(request)
        default:
            return .answered(await executeOnce(request))
        }
        let outcome = await proposeCommand(request)
        switch outcome {
        case .success(let outcome):
            return .answered(Self.answer(for: outcome))
        case .failure(let failure):
            // Never proposed (a transfer is under way), or replaced by another leader's entry
            // at its index: either way not applied, and the request carries an idempotency key,
            // so trying again cannot apply it twice.
            switch failure {
            case .transferInProgress, .lostInLeaderChange, .notLeader:
                return .notPlaced(ClientAnswer(APIError.from(failure)))
            default:
                return .answered(ClientAnswer(APIError.from(failure)))
            }
        }
    }

    /// Proposes `command` and waits for its outcome.
    func propose(_ command: StateCommand) async -> Result<CommandOutcome, WriteFailure> {
        do {
            return .success(try await raft.propose(command).get())
        } catch let failure as WriteFailure {
            return .failure(failure)
        } catch {
            return .failure(.leadershipLost)
        }
    }

    private func proposeCommand(_ request: ClientRequest) async -> Result<CommandOutcome, WriteFailure> {
        let nowMs = WallClock.nowMilliseconds()
        let command: StateCommand
        switch request {
        case .createJob(let jobID, let text, let image, let backend, let maxRuns, let key, let hash):
            command = .createJob(
                .init(
                    id: jobID, command: text, image: image, backend: backend, maxConcurrentRuns: maxRuns,
                    createdAtMs: nowMs, idempotencyKey: key, requestHash: hash))
        case .createPlannedJob(let jobID, let text, let image, let backend, let maxRuns, let plan, let key, let hash):
            command = .createJob(
                .init(
                    id: jobID, command: text, image: image, backend: backend, maxConcurrentRuns: maxRuns, plan: plan,
                    createdAtMs: nowMs, idempotencyKey: key, requestHash: hash))
        case .cancelJob(let id, let key, let hash):
            command = .cancelJob(.init(id: id, atMs: nowMs, idempotencyKey: key, requestHash: hash))
        case .recordEnvelope(let envelope, let key, let hash):
            command = .recordEnvelope(
                .init(envelope: envelope, receivedAtMs: nowMs, idempotencyKey: key, requestHash: hash))
        case .cordonNode(let nodeID, let cordoned, let draining, let key, let hash):
            command = .cordonNode(
                .init(
                    nodeID: nodeID, cordoned: cordoned, draining: draining, atMs: nowMs, idempotencyKey: key,
                    requestHash: hash))
        case .reportLaunch(let launchID, let nodeID, let state, let reason, let note, let output):
            command = .reportLaunch(
                .init(
                    launchID: launchID, nodeID: nodeID, state: state, reason: reason, note: note, output: output,
                    atMs: nowMs))
        case .triggerJob(let jobID, let key, let hash):
            command = .triggerJob(.init(jobID: jobID, atMs: nowMs, idempotencyKey: key, requestHash: hash))
        case .setSchedulerPaused(let paused, let key, let hash):
            command = .setSchedulerPaused(.init(paused: paused, atMs: nowMs, idempotencyKey: key, requestHash: hash))
        case .drainNode(let nodeID, let draining, let key, let hash):
            command = .drainNode(
                .init(nodeID: nodeID, draining: draining, atMs: nowMs, idempotencyKey: key, requestHash: hash))
        case .reportOrphans(let nodeID, let orphans, let swept):
            command = .reportOrphans(.init(nodeID: nodeID, orphans: orphans, swept: swept, atMs: nowMs))
        case .sweepOrphans(let nodeID, let key, let hash):
            command = .sweepOrphans(.init(nodeID: nodeID, atMs: nowMs, idempotencyKey: key, requestHash: hash))
        case .terminateLaunch(let launchID, let key, let hash):
            command = .terminateLaunch(.init(launchID: launchID, atMs: nowMs, idempotencyKey: key, requestHash: hash))
        default:
            preconditionFailure("not a state command: \(request)")
        }
        return await propose(command)
    }

    /// The requests that are not job commands: answered once, never retried by the node.
    private func executeOnce(_ request: ClientRequest) async -> ClientAnswer {
        switch request {
        case .createJob, .cancelJob, .recordEnvelope, .cordonNode, .executeLaunch, .reportLaunch, .terminateLaunch,
            .triggerJob, .setSchedulerPaused, .drainNode, .reportOrphans, .sweepOrphans, .createPlannedJob:
            preconditionFailure("state commands go through execute(_:)")
        case .transferLeadership(let target):
            return await transferLeadership(to: target)
        case .addMember(let id, let peer, let http, let incarnation):
            return await addMember(id, peerAddress: peer, httpAddress: http, incarnation: incarnation)
        case .removeMember(let id):
            return await removeMember(id)
        case .readIndex:
            do {
                let index = try await raft.readIndex().get()
                return ClientAnswer(status: 200, body: Array("{\"read_index\":\(index)}".utf8))
            } catch {
                return ClientAnswer(APIError.from(error as? WriteFailure ?? .leadershipLost))
            }
        }
    }

    private func transferLeadership(to target: NodeID) async -> ClientAnswer {
        do {
            try await raft.transferLeadership(to: target).get()
            return ClientAnswer(status: 200, body: Array("{\"leader_id\":\(target),\"success\":true}".utf8))
        } catch let failure as TransferFailure {
            switch failure {
            case .notLeader(let hint):
                return ClientAnswer(APIError.from(.notLeader(leaderHint: hint)))
            case .invalidTarget(let id):
                return ClientAnswer(
                    APIError(
                        .badRequest, code: "INVALID_TARGET",
                        message: "node \(id) is not a voter of this cluster other than the leader",
                        details: ["target": "\(id)"]))
            case .aborted(let abort):
                var details = ["target": "\(abort.target)"]
                let message: String
                switch abort.reason {
                case .timedOut(let match, let last):
                    details["target_match_index"] = "\(match)"
                    details["leader_last_index"] = "\(last)"
                    message =
                        "node \(abort.target) did not catch up and take over within an election timeout "
                        + "(it has \(match) of \(last) entries)"
                case .leadershipLost:
                    message = "this node lost leadership to another node during the transfer"
                case .targetRemoved:
                    message = "node \(abort.target) left the cluster during the transfer"
                }
                return ClientAnswer(APIError(.conflict, code: "TRANSFER_ABORTED", message: message, details: details))
            case .superseded:
                return ClientAnswer(
                    APIError(.conflict, code: "TRANSFER_SUPERSEDED", message: "another transfer replaced this one"))
            }
        } catch {
            return ClientAnswer(APIError.from(.shuttingDown))
        }
    }

    static func answer(for outcome: CommandOutcome) -> ClientAnswer {
        var json = JSONObjectWriter()
        switch outcome {
        case .jobCreated(let job):
            json.add("job_id", job.id)
            json.add("status", job.status.rawValue)
            return ClientAnswer(status: 201, body: json.finish())
        case .jobCancelled(let job), .jobUpdated(let job):
            json.addNull("error")
            json.add("job_id", job.id)
            json.add("status", job.status.rawValue)
            json.add("success", true)
            return ClientAnswer(status: 200, body: json.finish())
        case .rejected(let rejection):
            let error = APIError(
                .init(code: rejection.httpStatus), code: rejection.code, message: rejection.message,
                details: rejection.details)
            return ClientAnswer(error)
        case .nodeRecorded(let truth):
            json.add("accepted", true)
            json.add("node_id", truth.nodeID)
            json.add("received_at", RFC3339.string(fromMilliseconds: truth.receivedAtMs))
            json.add("sequence", truth.envelope.sequence)
            return ClientAnswer(status: 200, body: json.finish())
        case .launchCreated(let record):
            return ClientAnswer(status: 201, body: StateCommand.canonicalJSON(LaunchView(record)))
        case .launchUpdated(let record):
            return ClientAnswer(status: 200, body: StateCommand.canonicalJSON(LaunchView(record)))
        case .jobTriggered(let job, let runID):
            json.add("job_id", job.id)
            json.add("run_id", runID)
            json.add("status", job.status.rawValue)
            return ClientAnswer(status: 201, body: json.finish())
        case .schedulerChanged(let state):
            return ClientAnswer(status: 200, body: StateCommand.canonicalJSON(SchedulerStateView(state)))
        case .orphansChanged(let truth):
            json.add("node_id", truth.nodeID)
            json.addRaw("orphans", StateCommand.canonicalJSON(truth.orphans))
            return ClientAnswer(status: 200, body: json.finish())
        case .nodeCordoned(let truth):
            json.add("cordoned", truth.cordoned)
            if let at = truth.cordonedAtMs { json.add("cordoned_at", RFC3339.string(fromMilliseconds: at)) }
            json.add("draining", truth.draining)
            json.add("node_id", truth.nodeID)
            return ClientAnswer(status: 200, body: json.finish())
        case .noop, .memberRecorded:
            json.add("success", true)
            return ClientAnswer(status: 200, body: json.finish())
        case .jobFired(let fire):
            return ClientAnswer(status: 200, body: StateCommand.canonicalJSON(FireView(fire)))
        case .fireIgnored(let reason):
            json.add("ignored", reason.rawValue)
            return ClientAnswer(status: 200, body: json.finish())
        }
    }

    /// Waits until this node's state reflects every write acknowledged before the call
    /// (linearizable read, thesis §6.4): asks the leader for a confirmed read index.
    func awaitLinearizableRead() async throws(APIError) {
        let status = raft.basicStatus
        let index: LogIndex
        if status.role == .leader {
            do { index = try await raft.readIndex().get() } catch {
                throw APIError.from(error as? WriteFailure ?? .leadershipLost)
            }
        } else {
            guard status.leader != .none else {
                throw APIError.from(.notLeader(leaderHint: raft.lastKnownLeaderHint))
            }
            let answer = await forward(.readIndex, to: status.leader).answer
            guard answer.status == 200,
                let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
                let value = object["read_index"] as? NSNumber
            else {
                throw APIError(
                    .serviceUnavailable, code: "READ_INDEX_FAILED", message: "the leader could not confirm a read",
                    leaderHint: status.leader, retryAfterSeconds: 1)
            }
            index = value.uint64Value
        }
        do { try await raft.waitApplied(index).get() } catch {
            throw APIError.from(error as? WriteFailure ?? .shuttingDown)
        }
    }
}
