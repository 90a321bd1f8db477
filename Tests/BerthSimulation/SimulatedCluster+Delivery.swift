import BerthRaft

/// Messages between simulated nodes — handing them to the network, delivering them (or not),
/// and the transport's reports back to the sender (`reportSnapshot`, `reportUnreachable`) —
/// and watching each node's role so elections reach the checkers the moment they happen.
extension SimulatedCluster {
    // MARK: - Messages

    func send(_ message: Message, from node: SimulatedNode) {
        guard let target = self.node(message.to) else { return }
        network.send(message, now: now, senderLife: node.life, targetLife: target.life)
    }

    func deliver(_ flight: SimulatedNetwork.InFlight) {
        let message: Message
        switch flight.payload {
        case .raft(let raftMessage):
            message = raftMessage
        case .request(let from, let to, let request):
            deliver(request, from: from, to: to, flight)
            return
        }
        guard let target = node(message.to) else { return }
        let cut = network.isBlocked(from: message.from, to: message.to)
        var delivered = false
        if flight.isLost {
            // Already counted as lost; only the sender's transport needs to hear of it.
        } else if !target.isUp || target.life != flight.targetLife || cut {
            stats.messagesDropped += 1
        } else if target.isPaused(at: now) {
            network.requeue(flight, at: target.pausedUntil + rng.time(in: 0...2))
            return
        } else {
            target.raft?.step(message)
            observe(target)
            delivered = true
        }
        guard let sender = node(message.from), let raft = sender.raft,
            sender.life == flight.senderLife, !flight.isDuplicate
        else { return }
        switch message.body {
        case .installSnapshot:
            // A transport learns whether streaming the snapshot worked.
            raft.reportSnapshot(to: message.to, succeeded: delivered)
            observe(sender)
        case .appendEntries where cut:
            // A transport notices a dead connection.
            raft.reportUnreachable(message.to)
            sender.mayHaveReady = true
        default:
            break
        }
    }

    // MARK: - Watching roles

    /// Reads the node's role and term after anything that may have changed them, and reports
    /// elections to the checkers. `mayHaveWork`: whatever happened may have given the core
    /// something for its pipeline (false right after the pipeline ran dry).
    func observe(_ node: SimulatedNode, mayHaveWork: Bool = true) {
        if mayHaveWork { node.mayHaveReady = true }
        guard let status = node.raft?.basicStatus else { return }
        guard status.role != node.observedRole || status.term != node.observedTerm else { return }
        if status.term < node.observedTerm {
            checkers.fail(.electionSafety, "n\(node.id)'s term went back from \(node.observedTerm) to \(status.term)")
        }
        let wasLeader = node.observedRole == .leader
        let previousTerm = node.observedTerm
        node.lastRefusal = nil
        node.observedRole = status.role
        node.observedTerm = status.term
        if wasLeader && (status.role != .leader || status.term != previousTerm) {
            record(.steppedDown(node: node.id, term: previousTerm))
        }
        switch status.role {
        case .leader:
            checkers.nodeBecameLeader(node.id, term: status.term)
            stats.elections += 1
            if transferTarget == node.id {
                stats.transfersCompleted += 1
                transferTarget = .none
            }
            record(.becameLeader(node: node.id, term: status.term))
        case .candidate:
            record(.campaign(node: node.id, term: status.term))
        case .follower, .preCandidate:
            break
        }
    }
}
