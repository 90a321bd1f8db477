import BerthRaft

/// Walks one voter out of the cluster and back in, one single-server change at a time
/// (thesis §4.1): remove it, add it back as a learner, promote it once it has caught up.
///
/// It is goal-seeking rather than scripted: every few time units it looks at the committed
/// configuration (the newest one any node applied — not the leader's own view, which lags
/// after an election) and proposes whatever change is still missing, so a change lost to a
/// crash or a leader change is simply proposed again; a change that commits twice is a no-op.
/// Refusals (another change in progress, leader not ready, learner not caught up) just mean
/// "try again later".
struct MembershipDriver {
    enum Goal: Equatable {
        case idle
        /// Take `node` out.
        case remove(NodeID)
        /// Bring `node` back: learner first, then voter.
        case readd(NodeID)
    }

    /// Time units between attempts.
    let retryInterval: UInt64 = 30
    private(set) var goal: Goal = .idle
    private var nextAttemptAt: UInt64 = 0

    var isIdle: Bool { goal == .idle }

    /// Starts taking `node` out and back in.
    mutating func start(removing node: NodeID) {
        guard goal == .idle else { return }
        goal = .remove(node)
    }

    /// Proposes the next change toward the goal, if one is due.
    mutating func act(on cluster: SimulatedCluster) {
        guard goal != .idle, cluster.now >= nextAttemptAt else { return }
        nextAttemptAt = cluster.now + retryInterval
        let configuration = cluster.committedConfiguration
        switch goal {
        case .idle:
            return
        case .remove(let node):
            if configuration.contains(node) {
                cluster.proposeConfigChange(.remove(node))
            } else {
                goal = .readd(node)
            }
        case .readd(let node):
            if !configuration.contains(node) {
                cluster.proposeConfigChange(.addLearner(node, incarnation: cluster.incarnation(of: node)))
            } else if configuration.learners.contains(node) {
                cluster.proposeConfigChange(.promote(node))
            } else {
                goal = .idle
            }
        }
    }
}
