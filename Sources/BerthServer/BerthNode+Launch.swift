import BerthControlPlane
import BerthRaft
import BerthStorage
import Foundation

/// The leader's half of `launch/execute`: choose the node, propose the placement, and choose
/// again when the apply finds the node taken in the meantime.
extension BerthNode {
    /// How many times the leader decides again when a placement loses a race for capacity.
    static let placementAttempts = 5

    var placementPolicy: PlacementPolicy {
        PlacementPolicy(telemetryMaxAgeMs: Int64(config.telemetryMaxAgeSeconds) * 1000)
    }

    func executeLaunch(_ request: ClientRequest) async -> Attempt {
        guard
            case .executeLaunch(
                let launchID, let intent, let plannedNode, let expectStateIndex, let wait, let key, let hash) =
                request
        else { preconditionFailure("not an execute: \(request)") }
        var attempt = 0
        while true {
            attempt += 1
            let nowMs = WallClock.nowMilliseconds()
            // A plan's node is kept (plan == run, or a refusal); otherwise the leader picks the
            // best node now. The apply checks the pick against the state it applies to.
            let nodeID =
                plannedNode ?? raft.state.fleet().view.select(intent, atMs: nowMs, policy: placementPolicy)
            let command = StateCommand.executeLaunch(
                .init(
                    launchID: launchID, intent: intent, nodeID: nodeID, atMs: nowMs, expectStateIndex: expectStateIndex,
                    waitForCapacity: wait, telemetryMaxAgeMs: placementPolicy.telemetryMaxAgeMs, idempotencyKey: key,
                    requestHash: hash))
            switch await propose(command) {
            case .success(.rejected(.placementStale)) where plannedNode == nil && attempt < Self.placementAttempts:
                continue
            case .success(let outcome):
                return .answered(Self.answer(for: outcome))
            case .failure(let failure):
                switch failure {
                case .transferInProgress, .lostInLeaderChange, .notLeader:
                    return .notPlaced(ClientAnswer(APIError.from(failure)))
                default:
                    return .answered(ClientAnswer(APIError.from(failure)))
                }
            }
        }
    }
}

extension BerthNode {
    /// How often the leader looks for pending launches that now fit.
    static let pendingPlacementInterval: Duration = .milliseconds(250)

    /// The leader places launches that wait for capacity as soon as a node fits, oldest first.
    /// Each placement is an ordinary `executeLaunch` of the same launch id, so it is decided by
    /// the apply like any other; a leader that loses leadership simply stops, and the next one
    /// finds the same pending launches in the replicated state.
    func startPendingPlacer() {
        Task { [weak self] in
            while let node = self, !node.isStopping {
                await node.placePendingLaunches()
                try? await Task.sleep(for: Self.pendingPlacementInterval)
            }
        }
    }

    /// Paused (`POST /api/scheduler/pause`), nothing is placed; with no node at all nothing could
    /// be, and the pending launches (say, jobs submitted before any agent) are not even read.
    private func placePendingLaunches() async {
        guard raft.basicStatus.role == .leader, raft.state.fleet().view.count > 0,
            (try? raft.state.schedulerState().paused) == false,
            let pending = try? raft.state.launches(state: .pending, limit: 1000), !pending.isEmpty
        else { return }
        for record in pending.reversed() {
            let nowMs = WallClock.nowMilliseconds()
            guard raft.basicStatus.role == .leader,
                let nodeID = raft.state.fleet().view.select(record.intent, atMs: nowMs, policy: placementPolicy)
            else { continue }
            let command = StateCommand.executeLaunch(
                .init(
                    launchID: record.id, intent: record.intent, nodeID: nodeID, atMs: nowMs, waitForCapacity: true,
                    telemetryMaxAgeMs: placementPolicy.telemetryMaxAgeMs))
            if case .success(.launchCreated(let placed)) = await propose(command), placed.state == .validated {
                logger.info("pending launch placed", metadata: ["launch": "\(record.id)", "node": "\(nodeID)"])
            }
        }
    }
}

/// A launch as the API shows it: the record (spec §6: state, node, hydrated spec, the full
/// placement explanation, the append-only trace), and for a launch still waiting for capacity,
/// why it waits now.
struct LaunchView: Encodable, Sendable {
    var record: LaunchRecord
    var whyPending: Explanation?

    init(_ record: LaunchRecord, whyPending: Explanation? = nil) {
        self.record = record
        self.whyPending = whyPending
    }

    enum CodingKeys: String, CodingKey {
        case launchID = "launch_id"
        case whyPending = "why_pending"
    }

    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(record.id, forKey: .launchID)
        try container.encodeIfPresent(whyPending, forKey: .whyPending)
    }
}
