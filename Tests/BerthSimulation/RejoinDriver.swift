import BerthRaft

/// Re-admits nodes that lost their disk (thesis §4.1, one single-server change at a time):
/// when the committed configuration records another incarnation for a running node, the
/// leader is asked for `ConfigChange.rejoin(node, incarnation:)` — the node becomes a learner
/// under its new incarnation — and once it is a learner under that incarnation, for
/// `.promote(node)`, which the core refuses until the node has caught up (so it is retried).
///
/// Like `MembershipDriver` it is goal-seeking: every few time units it compares the committed
/// configuration (the newest any node applied) with the incarnations the nodes run under and
/// proposes whatever is missing, so a change lost to a crash or a leader change is proposed
/// again. Refusals (another change in progress, leader not ready, learner not caught up) just
/// mean "try again later".
///
/// With `handsOverLeadership`, once a re-admitted node is a voter again it is often asked to
/// lead (a leadership transfer, as an operator might ask for): a follower whose membership
/// predates the re-admission must then still follow it.
struct RejoinDriver {
    /// Time units between attempts.
    let retryInterval: UInt64 = 30
    private var nextAttemptAt: UInt64 = 0
    /// Nodes re-admitted as learners and not promoted yet.
    private(set) var rejoining: Set<NodeID> = []
    private let handsOverLeadership: Bool
    private var rng: SplitMix64

    init(handsOverLeadership: Bool = false, rng: SplitMix64 = SplitMix64(seed: 0)) {
        self.handsOverLeadership = handsOverLeadership
        self.rng = rng
    }

    /// Proposes the next change toward the goal, if one is due.
    mutating func act(on cluster: SimulatedCluster) {
        guard cluster.now >= nextAttemptAt else { return }
        nextAttemptAt = cluster.now + retryInterval
        let configuration = cluster.committedConfiguration
        for id in cluster.nodeIDs where cluster.isUp(id) {
            guard let admitted = configuration.incarnation(of: id) else { continue }
            let running = cluster.incarnation(of: id)
            if admitted != running {
                rejoining.insert(id)
                cluster.proposeConfigChange(.rejoin(id, incarnation: running))
                return
            }
            if rejoining.contains(id) {
                if configuration.learners.contains(id) {
                    cluster.proposeConfigChange(.promote(id))
                    return
                }
                rejoining.remove(id)
                if handsOverLeadership, configuration.voters.contains(id), rng.chance(0.5) {
                    cluster.transferLeadership(to: id)
                }
            }
        }
    }

    /// Why the driver is not done, or nil: every running node is admitted under the
    /// incarnation it runs under, and every node it re-admitted is a voter again.
    func unfinishedWork(_ cluster: SimulatedCluster) -> String? {
        let configuration = cluster.committedConfiguration
        for id in cluster.nodeIDs {
            if let admitted = configuration.incarnation(of: id), admitted != cluster.incarnation(of: id) {
                return "n\(id) runs as incarnation \(cluster.incarnation(of: id)) but is admitted as \(admitted)"
            }
            if rejoining.contains(id) && configuration.learners.contains(id) {
                return "n\(id) was re-admitted but is still a learner"
            }
        }
        return nil
    }
}
