import BerthControlPlane
import BerthRaft
import Foundation
import GRDB

/// Lost nodes, drains and orphans in the replicated state (spec §6): the decisions are
/// `NodeLossRules`' and the fleet view's; here the rows are read and what was decided written.
extension StateStore {
    /// Node `nodeID`'s placed launches that have not ended (the ones a loss or a drain concerns).
    public func activeLaunches(on nodeID: String) throws(StateStoreError) -> [LaunchRecord] {
        try Self.wrap { try writer.read { try Self.activeLaunches(on: nodeID, in: $0) } }
    }

    /// Node `nodeID`'s launches that have not ended, and those that ended at or after `sinceMs`
    /// (what a drain's progress is computed from).
    public func launchesForDrain(on nodeID: String, sinceMs: Int64) throws(StateStoreError) -> [LaunchRecord] {
        try Self.wrap {
            try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT record FROM launches WHERE node_id = ?
                        AND (state NOT IN ('terminated', 'failed', 'lost') OR updated_at_ms >= ?)
                        """, arguments: [nodeID, sinceMs]
                ).map { try Self.decodeLaunch($0) }
            }
        }
    }

    /// Launches that have a replacement but still run (a drain's moves in flight), on any node:
    /// the leader stops each once its replacement runs, even after the drain was cancelled.
    public func launchesBeingReplaced() throws(StateStoreError) -> [LaunchRecord] {
        try Self.wrap {
            try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT record FROM launches
                        WHERE state IN ('validated', 'preparing', 'starting', 'running')
                        AND record LIKE '%"replaced_by"%'
                        """
                ).map { try Self.decodeLaunch($0) }
            }
        }
    }

    static func activeLaunches(on nodeID: String, in db: Database) throws -> [LaunchRecord] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT record FROM launches WHERE node_id = ?
                    AND state IN ('validated', 'preparing', 'starting', 'running', 'terminating')
                    ORDER BY id
                    """), arguments: [nodeID]
        ).map { try decodeLaunch($0) }
    }

    // MARK: Apply

    static func markNodeLost(
        _ mark: StateCommand.MarkNodeLost, index: LogIndex, in db: Database, fleet: inout FleetSnapshot
    ) throws -> CommandOutcome {
        guard let truth = fleet.view.truth(of: mark.nodeID) else { return .rejected(.nodeNotFound(id: mark.nodeID)) }
        // Already lost, or the agent spoke after the leader decided: nothing to do.
        guard !truth.lost, truth.receivedAtMs <= mark.receivedAtMs else { return .nodeRecorded(truth: truth) }
        let lostTruth: NodeTruth
        do { lostTruth = try fleet.view.markLost(mark.nodeID, atMs: mark.atMs) } catch {
            return .rejected(.nodeNotFound(id: mark.nodeID))
        }
        try saveNode(lostTruth, index: index, in: db)
        fleet.changedIndex = index
        let detail =
            "node \(mark.nodeID) lost: its agent was silent for \(seconds(mark.silentForMs)) "
            + "(--node-lost-after \(seconds(mark.lostAfterMs)))"
        let loss = NodeLossRules.loseNode(
            mark.nodeID, launches: try activeLaunches(on: mark.nodeID, in: db), atMs: mark.atMs, detail: detail,
            fleet: &fleet.view, taken: { (try? launch($0, in: db)) != nil })
        for record in loss.lost {
            try saveLaunch(record, in: db)
            try followJob(of: record, output: nil, in: db)
        }
        for replacement in loss.replacements { try saveLaunch(replacement, in: db) }
        return .nodeRecorded(truth: lostTruth)
    }

    static func moveLaunch(_ move: StateCommand.MoveLaunch, in db: Database, fleet: inout FleetSnapshot) throws
        -> CommandOutcome
    {
        guard let record = try launch(move.launchID, in: db) else {
            return .rejected(.launchNotFound(id: move.launchID))
        }
        // Only off a node that is still draining: a cancel applied in between wins.
        guard let nodeID = record.nodeID, fleet.view.truth(of: nodeID)?.draining == true,
            let (moved, replacement) = NodeLossRules.move(
                record, atMs: move.atMs, reason: move.reason, taken: { (try? launch($0, in: db)) != nil })
        else { return .launchUpdated(record: record) }
        try saveLaunch(moved, in: db)
        try saveLaunch(replacement, in: db)
        return .launchCreated(record: replacement)
    }

    static func drainNode(_ drain: StateCommand.DrainNode, index: LogIndex, in db: Database, fleet: inout FleetSnapshot)
        throws -> CommandOutcome
    {
        do {
            if drain.draining {
                try fleet.view.cordon(drain.nodeID, atMs: drain.atMs, draining: true)
            } else {
                try fleet.view.stopDraining(drain.nodeID)
            }
        } catch {
            return .rejected(.nodeNotFound(id: drain.nodeID))
        }
        guard let truth = fleet.view.truth(of: drain.nodeID) else { return .rejected(.nodeNotFound(id: drain.nodeID)) }
        try saveNode(truth, index: index, in: db)
        fleet.changedIndex = index
        return .nodeCordoned(truth: truth)
    }

    static func reportOrphans(
        _ report: StateCommand.ReportOrphans, index: LogIndex, in db: Database, fleet: inout FleetSnapshot
    ) throws -> CommandOutcome {
        let truth: NodeTruth
        do {
            (_, truth) = try fleet.view.updateOrphans(report.nodeID) {
                $0.report(report.orphans, atMs: report.atMs, swept: report.swept)
            }
        } catch {
            return .rejected(.nodeNotFound(id: report.nodeID))
        }
        try saveNode(truth, index: index, in: db)
        fleet.changedIndex = index
        return .orphansChanged(truth: truth)
    }

    static func sweepOrphans(
        _ sweep: StateCommand.SweepOrphans, index: LogIndex, in db: Database, fleet: inout FleetSnapshot
    ) throws -> CommandOutcome {
        let truth: NodeTruth
        do {
            (_, truth) = try fleet.view.updateOrphans(sweep.nodeID) {
                $0.requestSweep(id: index, atMs: sweep.atMs)
            }
        } catch {
            return .rejected(.nodeNotFound(id: sweep.nodeID))
        }
        try saveNode(truth, index: index, in: db)
        fleet.changedIndex = index
        return .orphansChanged(truth: truth)
    }

    private static func seconds(_ ms: Int64) -> String {
        ms % 1000 == 0 ? "\(ms / 1000) s" : String(format: "%.1f s", Double(ms) / 1000)
    }
}
