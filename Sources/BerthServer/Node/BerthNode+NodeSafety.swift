import BerthControlPlane
import BerthRaft
import BerthStorage
import Foundation

/// The leader's watch over agents and drains (spec §6): it declares silent nodes lost (their
/// reschedulable launches get replacements, which the pending placer puts elsewhere), and moves
/// launches off draining nodes. Everything it decides goes through a replicated command, so a
/// leader that loses leadership simply stops, and the next one finds the same state.
extension BerthNode {
    /// How often the leader looks: a quarter of `--node-lost-after`, at most every 500 ms.
    var safetyInterval: Duration {
        .milliseconds(max(100, min(500, config.nodeLostAfterSeconds * 250)))
    }

    func startNodeSafetyLoop() {
        Task { [weak self] in
            var leaderTerm: Term?
            var leaderSinceMs: Int64 = 0
            var handovers = HandoverWatch()
            var sleptAt = ContinuousClock.now
            while let node = self, !node.isStopping {
                let status = node.raft.basicStatus
                // A sleep that lasted far longer than asked (this process was frozen or starved):
                // the leader was not watching, so it cannot tell who was silent meanwhile. A long
                // pass of its own (many proposals) is not a stall: only the sleep is measured.
                let stalled = ContinuousClock.now - sleptAt > node.safetyInterval * 4 + .seconds(1)
                if status.role == .leader {
                    if leaderTerm != status.term || stalled {
                        // A new leadership: every agent gets a full period to be heard by this
                        // leader before it counts as silent.
                        leaderTerm = status.term
                        leaderSinceMs = WallClock.nowMilliseconds()
                        handovers = HandoverWatch()
                    }
                    await node.declareSilentNodesLost(graceStartMs: leaderSinceMs)
                    await node.advanceDrains(&handovers)
                } else {
                    leaderTerm = nil
                }
                sleptAt = ContinuousClock.now
                try? await Task.sleep(for: node.safetyInterval)
            }
        }
    }

    /// Proposes `markNodeLost` for each node silent longer than `--node-lost-after`.
    func declareSilentNodesLost(graceStartMs: Int64) async {
        let nowMs = WallClock.nowMilliseconds()
        let lostAfterMs = Int64(config.nodeLostAfterSeconds) * 1000
        let silent = NodeLossRules.silentNodes(
            in: raft.state.fleet().view, nowMs: nowMs, lostAfterMs: lostAfterMs, graceStartMs: graceStartMs,
            heardAtMs: agentsHeard.snapshot)
        for node in silent {
            guard raft.basicStatus.role == .leader else { return }
            let before = (try? raft.state.activeLaunches(on: node.nodeID)) ?? []
            let result = await propose(
                .markNodeLost(
                    .init(
                        nodeID: node.nodeID, receivedAtMs: node.receivedAtMs, silentForMs: node.silentForMs,
                        lostAfterMs: lostAfterMs, atMs: nowMs)))
            guard case .success(.nodeRecorded(let truth)) = result, truth.lostAtMs == nowMs else { continue }
            let rescheduled = before.filter {
                $0.intent.onNodeLost == .reschedule && $0.state != .terminating && $0.replacedBy == nil
            }.count
            NodeMetrics.countNodeLost(launches: before.count, rescheduled: rescheduled)
            logger.warning(
                "node lost",
                metadata: [
                    "node": "\(node.nodeID)", "silent_ms": "\(node.silentForMs)", "launches": "\(before.count)",
                    "rescheduled": "\(rescheduled)",
                ])
        }
    }

    /// Drains, one step: each movable launch on a draining node gets a replacement, and each
    /// launch whose replacement now runs is terminated (make before break).
    func advanceDrains(_ handovers: inout HandoverWatch) async {
        let view = raft.state.fleet().view
        var anyDraining = false
        for nodeID in view.nodeIDs where view.truth(of: nodeID)?.draining == true {
            anyDraining = true
            guard let launches = try? raft.state.activeLaunches(on: nodeID) else { continue }
            for record in launches where NodeLossRules.isMovable(record) && record.replacedBy == nil {
                guard raft.basicStatus.role == .leader else { return }
                let result = await propose(
                    .moveLaunch(
                        .init(
                            launchID: record.id, reason: "node \(nodeID) is draining",
                            atMs: WallClock.nowMilliseconds())))
                if case .success(.launchCreated(let replacement)) = result {
                    NodeMetrics.countDrainMove()
                    logger.info(
                        "drain: replacement made",
                        metadata: ["launch": "\(record.id)", "replacement": "\(replacement.id)"])
                }
            }
        }
        guard handovers.scanDue(anyDraining: anyDraining), let moving = try? raft.state.launchesBeingReplaced()
        else { return }
        handovers.scanned(foundMoves: !moving.isEmpty)
        for original in moving {
            guard let replacementID = original.replacedBy,
                let replacement = try? raft.state.launch(id: replacementID),
                NodeLossRules.handoverDue(original: original, replacement: replacement)
            else { continue }
            guard raft.basicStatus.role == .leader else { return }
            _ = await propose(
                .terminateLaunch(
                    .init(
                        launchID: original.id, atMs: WallClock.nowMilliseconds(),
                        note: "moved: its replacement \(replacement.id) runs on \(replacement.nodeID ?? "?")")))
        }
    }
}

/// When the leader looks for moves in flight. The scan reads every unfinished launch's record,
/// so it runs only while a node drains or the last scan found moves (a cancelled drain's moves
/// still finish), and otherwise every `idleRescan` — moves are made only by drains, so an idle
/// fleet has none, but a new leader must look once.
struct HandoverWatch {
    static let idleRescan: Duration = .seconds(10)

    private var lastFoundMoves = true
    private var lastScan: ContinuousClock.Instant?

    func scanDue(anyDraining: Bool) -> Bool {
        guard let lastScan else { return true }
        return anyDraining || lastFoundMoves || ContinuousClock.now - lastScan >= Self.idleRescan
    }

    mutating func scanned(foundMoves: Bool) {
        lastFoundMoves = foundMoves
        lastScan = ContinuousClock.now
    }
}
