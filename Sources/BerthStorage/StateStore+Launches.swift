import BerthControlPlane
import BerthRaft
import Foundation
import GRDB

/// Launch records in the replicated state (spec §6): how the launch commands change them, and
/// the queries the API and the agents' action feed make.
extension StateStore {
    /// One launch, or nil.
    public func launch(id: String) throws(StateStoreError) -> LaunchRecord? {
        try Self.wrap { try writer.read { try Self.launch(id, in: $0) } }
    }

    /// Launches newest first, optionally of one state or on one node; `after` is the id of the
    /// last launch of the previous page.
    public func launches(state: LaunchState? = nil, nodeID: String? = nil, limit: Int = 100, after: String? = nil)
        throws(StateStoreError) -> [LaunchRecord]
    {
        try Self.wrap {
            try writer.read { db in
                var clauses: [String] = []
                var arguments: [any DatabaseValueConvertible] = []
                if let state {
                    clauses.append("state = ?")
                    arguments.append(state.rawValue)
                }
                if let nodeID {
                    clauses.append("node_id = ?")
                    arguments.append(nodeID)
                }
                if let after,
                    let cursor = try Row.fetchOne(
                        db, sql: "SELECT created_at_ms FROM launches WHERE id = ?", arguments: [after])
                {
                    clauses.append("(created_at_ms, id) < (?, ?)")
                    arguments.append(cursor["created_at_ms"] as Int64)
                    arguments.append(after)
                }
                let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
                arguments.append(limit)
                return try Row.fetchAll(
                    db, sql: "SELECT record FROM launches \(filter) ORDER BY created_at_ms DESC, id DESC LIMIT ?",
                    arguments: StatementArguments(arguments)
                ).map { try Self.decodeLaunch($0) }
            }
        }
    }

    /// What node `nodeID`'s agent has to do: launches placed on it and not yet taken
    /// (`validated`), and launches to stop (`terminating`). Derived from the replicated state, so
    /// a new leader (or any server) offers the same actions again until the agent reports.
    public func pendingActions(for nodeID: String) throws(StateStoreError) -> [LaunchRecord] {
        try Self.wrap {
            try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT record FROM launches WHERE node_id = ? AND state IN ('validated', 'terminating')
                        ORDER BY created_at_ms, id
                        """, arguments: [nodeID]
                ).map { try Self.decodeLaunch($0) }
            }
        }
    }

    // MARK: Apply

    static func executeLaunch(_ execute: StateCommand.ExecuteLaunch, in db: Database, fleet: inout FleetSnapshot) throws
        -> CommandOutcome
    {
        var record: LaunchRecord
        if let existing = try launch(execute.launchID, in: db) {
            // The same launch again: the node that took the request retrying, or the leader
            // placing a launch that waited for capacity.
            guard existing.intent == execute.intent else { return .rejected(.launchExists(id: execute.launchID)) }
            guard existing.state == .pending, execute.nodeID != nil else { return .launchCreated(record: existing) }
            record = existing
        } else {
            record = LaunchRecord(id: execute.launchID, intent: execute.intent, createdAtMs: execute.atMs)
        }
        if let expected = execute.expectStateIndex, fleet.changedIndex > expected {
            return .rejected(.planStale(expected: expected, changedAt: fleet.changedIndex))
        }
        let policy = PlacementPolicy(telemetryMaxAgeMs: execute.telemetryMaxAgeMs)
        let explanation = fleet.view.evaluate(execute.intent, atMs: execute.atMs, policy: policy)
        guard let nodeID = execute.nodeID else {
            guard explanation.rankedNodes.isEmpty else {
                // A node fits now although none did when the leader looked: it decides again.
                return .rejected(.placementStale(nodeID: "", reasons: []))
            }
            guard execute.waitForCapacity else { return .rejected(.noEligibleNode(launchID: execute.launchID)) }
            try saveLaunch(record, in: db)
            return .launchCreated(record: record)
        }
        guard explanation.rankedNodes.contains(where: { $0.nodeID == nodeID }), let truth = fleet.view.truth(of: nodeID)
        else {
            let reasons = explanation.reasons(for: nodeID)?.map(\.code.rawValue) ?? ["NODE_NOT_FOUND"]
            return .rejected(.placementStale(nodeID: nodeID, reasons: reasons))
        }
        let spec: LaunchSpec
        do {
            spec = try LaunchSpec.hydrate(execute.intent, on: truth)
        } catch {
            return .rejected(.placementStale(nodeID: nodeID, reasons: error.reasons.map(\.code.rawValue)))
        }
        try record.place(spec: spec, placement: explanation, atMs: execute.atMs)
        if let placed = record.placedLaunch { try fleet.view.placeLaunch(placed) }
        let light = record.withoutPlacementLists()
        try saveLaunch(light, placement: explanation.jsonBytes(), in: db)
        return .launchCreated(record: light)
    }

    static func reportLaunch(_ report: StateCommand.ReportLaunch, in db: Database, fleet: inout FleetSnapshot) throws
        -> CommandOutcome
    {
        guard var record = try launch(report.launchID, in: db) else {
            return .rejected(.launchNotFound(id: report.launchID))
        }
        guard record.nodeID == report.nodeID else {
            return .rejected(
                .launchNotOnNode(id: report.launchID, nodeID: record.nodeID ?? "(none)", reporter: report.nodeID))
        }
        return try move(
            &record, to: report.state, atMs: report.atMs, reason: report.reason, note: report.note, in: db,
            fleet: &fleet)
    }

    static func terminateLaunch(_ terminate: StateCommand.TerminateLaunch, in db: Database, fleet: inout FleetSnapshot)
        throws -> CommandOutcome
    {
        guard var record = try launch(terminate.launchID, in: db) else {
            return .rejected(.launchNotFound(id: terminate.launchID))
        }
        // Nothing runs for a launch that was never placed; anything else is stopped by its agent.
        let next: LaunchState = record.state == .pending ? .terminated : .terminating
        return try move(
            &record, to: next, atMs: terminate.atMs, reason: nil, note: "terminate requested", in: db, fleet: &fleet)
    }

    private static func move(
        _ record: inout LaunchRecord, to next: LaunchState, atMs: Int64, reason: FailureReason?, note: String?,
        in db: Database, fleet: inout FleetSnapshot
    ) throws -> CommandOutcome {
        let changed: Bool
        do {
            changed = try record.transition(to: next, atMs: atMs, reason: reason, note: note)
        } catch {
            let status: Int
            switch error {
            case .illegal, .placementRequired: status = 409
            case .failureReasonRequired, .failureReasonNotAllowed: status = 400
            }
            return .rejected(
                .launchTransitionRefused(id: record.id, code: error.code, message: error.message, status: status))
        }
        if changed {
            if record.state.isTerminal { fleet.view.releaseLaunch(id: record.id) }
            try saveLaunch(record, in: db)
        }
        return .launchUpdated(record: record)
    }

    // MARK: Rows

    static func launch(_ id: String, in db: Database) throws -> LaunchRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT record FROM launches WHERE id = ?"), arguments: [id])
            .map { try decodeLaunch($0) }
    }

    /// Writes a launch's row; `placement` (the full explanation's JSON) only when it was placed
    /// now — later writes keep the stored one. `record` must be light
    /// (`withoutPlacementLists`): it is encoded on every change.
    static func saveLaunch(_ record: LaunchRecord, placement: [UInt8]? = nil, in db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO launches (id, node_id, state, created_at_ms, updated_at_ms, record, placement)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, state = excluded.state,
                    updated_at_ms = excluded.updated_at_ms, record = excluded.record,
                    placement = COALESCE(excluded.placement, placement)
                """
        ).execute(arguments: [
            record.id, record.nodeID, record.state.rawValue, record.createdAtMs, record.updatedAtMs,
            String(decoding: StateCommand.canonicalJSON(record), as: UTF8.self), placement.map { Data($0) },
        ])
    }

    /// The full placement explanation of a launch, as JSON: every node ranked or rejected when
    /// it was placed (nil before it was placed).
    public func launchPlacementJSON(id: String) throws(StateStoreError) -> [UInt8]? {
        try Self.wrap {
            try writer.read { db in
                try Data.fetchOne(db, sql: "SELECT placement FROM launches WHERE id = ?", arguments: [id]).map {
                    Array($0)
                }
            }
        }
    }

    static func decodeLaunch(_ row: Row) throws -> LaunchRecord {
        let json: String = row["record"]
        do {
            return try JSONDecoder().decode(LaunchRecord.self, from: Data(json.utf8))
        } catch {
            throw StateStoreError.corruptRow(table: "launches", reason: "\(error)")
        }
    }

    /// The launches that hold resources, for rebuilding the fleet view.
    static func placedLaunches(in db: Database) throws -> [PlacedLaunch] {
        try Row.fetchAll(
            db, sql: "SELECT record FROM launches WHERE node_id IS NOT NULL AND state NOT IN ('terminated', 'failed')"
        ).compactMap { try decodeLaunch($0).placedLaunch }
    }
}
