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
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
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
