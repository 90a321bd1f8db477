import BerthControlPlane
import BerthRaft
import BerthStorage
import Foundation
import NIOCore

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
                NodeMetrics.countPlacement(outcome)
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
    /// The longest the leader goes between looks for pending launches that now fit (it looks
    /// again as soon as an entry applies).
    static let pendingPlacementInterval: TimeAmount = .milliseconds(250)

    /// The leader places launches that wait for capacity as soon as a node fits, oldest first.
    /// Each placement is an ordinary `executeLaunch` of the same launch id, so it is decided by
    /// the apply like any other; a leader that loses leadership simply stops, and the next one
    /// finds the same pending launches in the replicated state.
    func startPendingPlacer() {
        Task { [weak self] in
            var memo = PendingPlacerMemo()
            while let node = self, !node.isStopping {
                let applied = node.raft.basicStatus.applied
                await node.placePendingLaunches(&memo)
                // The next pass as soon as an entry applies (a new job's run, an agent's
                // report): waiting out a fixed interval added up to its length to every run.
                await node.raft.appliedChange(
                    after: applied,
                    until: .now() + Self.pendingPlacementInterval)
            }
        }
    }

    /// How many pending launches one pass reads (oldest of the newest this many).
    static let pendingPlacementBatch = 256
    /// A pass that placed nothing is not repeated before this long unless the fleet changed.
    static let idlePlacementRecheck: Duration = .seconds(2)

    /// Paused (`POST /api/scheduler/pause`), nothing is placed; with no node at all nothing could
    /// be, and the pending launches (say, jobs submitted before any agent) are not even read.
    /// Launches of the same shape (`PlacementShape`) fit the same nodes, so once one finds no
    /// node the pass skips the others: many waiting jobs cost one evaluation per pass, not one
    /// each; and a pass that placed nothing waits for a fleet change (or `idlePlacementRecheck`).
    private func placePendingLaunches(_ memo: inout PendingPlacerMemo) async {
        guard raft.basicStatus.role == .leader else { return }
        let fleet = raft.state.fleet()
        guard fleet.view.count > 0 else { return }
        // The pass runs after every apply: the idle check comes before any read of SQLite.
        let fleetKey = PendingPlacerMemo.FleetKey(
            changedIndex: fleet.changedIndex, placedCount: fleet.view.placedLaunches.count)
        if memo.idleAt == fleetKey, let since = memo.idleSince, ContinuousClock.now - since < Self.idlePlacementRecheck
        {
            return
        }
        guard (try? raft.state.schedulerState().paused) == false else { return }
        guard let pending = try? raft.state.launches(state: .pending, limit: Self.pendingPlacementBatch),
            !pending.isEmpty
        else { return }
        var unplaceable: Set<PlacementShape> = []
        var placedAny = false
        for record in pending.reversed() {
            let shape = PlacementShape(record.intent)
            guard !unplaceable.contains(shape) else { continue }
            let nowMs = WallClock.nowMilliseconds()
            guard raft.basicStatus.role == .leader else { return }
            guard let nodeID = raft.state.fleet().view.select(record.intent, atMs: nowMs, policy: placementPolicy)
            else {
                unplaceable.insert(shape)
                continue
            }
            let command = StateCommand.executeLaunch(
                .init(
                    launchID: record.id, intent: record.intent, nodeID: nodeID, atMs: nowMs, waitForCapacity: true,
                    telemetryMaxAgeMs: placementPolicy.telemetryMaxAgeMs))
            let result = await propose(command)
            if case .success(let outcome) = result { NodeMetrics.countPlacement(outcome) }
            if case .success(.launchCreated(let placed)) = result, placed.state == .validated {
                placedAny = true
                logger.info("pending launch placed", metadata: ["launch": "\(record.id)", "node": "\(nodeID)"])
            }
        }
        if placedAny {
            memo = PendingPlacerMemo()
        } else if memo.idleAt != fleetKey {
            memo = PendingPlacerMemo(idleAt: fleetKey, idleSince: ContinuousClock.now)
        }
    }
}

/// What the pending placer remembers between passes: the fleet it last found nothing to place on.
struct PendingPlacerMemo {
    struct FleetKey: Equatable {
        var changedIndex: UInt64
        var placedCount: Int
    }

    var idleAt: FleetKey?
    var idleSince: ContinuousClock.Instant?
}

/// What placement looks at in an intent, without its name and payload contents: two launches of
/// the same shape fit the same nodes (names only spread replicas of one workload apart, and
/// waiting job runs each have their own name).
struct PlacementShape: Hashable {
    var arch: ArchitectureChoice
    var vcpus: Int
    var memoryMiB: Int
    var requiresKVM: Bool
    var backend: BackendChoice
    var labels: [String: String]
    var runsImage: Bool

    init(_ intent: WorkloadIntent) {
        arch = intent.arch
        vcpus = intent.vcpus
        memoryMiB = intent.memoryMiB
        requiresKVM = intent.requiresKVM
        backend = intent.backend
        labels = intent.labels
        runsImage = intent.image != nil
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
