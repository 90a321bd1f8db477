import BerthControlPlane
import BerthRaft
import Foundation
import GRDB

/// Launch records in the replicated state (spec §6): storing what `LaunchRules` decides for the
/// launch commands, and the queries the API and the agents' action feed make.
extension StateStore {
    /// How many launches are in each state (states without any are absent).
    public func launchCounts() throws(StateStoreError) -> [String: Int] {
        try Self.wrap {
            try writer.read { db in
                var counts: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM launches GROUP BY state") {
                    counts[row["state"]] = row["n"]
                }
                return counts
            }
        }
    }

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
    /// (`validated`), launches to stop (`terminating`), and launches lost with the node whose
    /// workload it has not yet reported stopped (`lost`, once it is back). Derived from the
    /// replicated state, so a new leader (or any server) offers the same actions again until the
    /// agent reports.
    public func pendingActions(for nodeID: String) throws(StateStoreError) -> [LaunchRecord] {
        try Self.wrap {
            try writer.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT record FROM launches WHERE node_id = ? AND (state IN ('validated', 'terminating')
                            OR (state = 'lost' AND record NOT LIKE '%"stopped_on_node_at_ms"%'))
                        ORDER BY created_at_ms, id
                        """, arguments: [nodeID]
                ).map { try Self.decodeLaunch($0) }
            }
        }
    }

    // MARK: Apply

    // The decisions are `LaunchRules`'; here the launch is read, the rule called, and what it
    // decided written.

    static func executeLaunch(_ execute: StateCommand.ExecuteLaunch, in db: Database, fleet: inout FleetSnapshot) throws
        -> CommandOutcome
    {
        let decision = try LaunchRules.execute(
            existing: try launch(execute.launchID, in: db), launchID: execute.launchID, intent: execute.intent,
            nodeID: execute.nodeID, atMs: execute.atMs, expectStateIndex: execute.expectStateIndex,
            waitForCapacity: execute.waitForCapacity,
            policy: PlacementPolicy(telemetryMaxAgeMs: execute.telemetryMaxAgeMs), fleet: &fleet.view,
            fleetChangedIndex: fleet.changedIndex, paused: try schedulerState(in: db).paused)
        let outcome = try store(decision, in: db, answer: CommandOutcome.launchCreated)
        if let record = decision.recordToWrite { try followJob(of: record, output: nil, in: db) }
        return outcome
    }

    static func reportLaunch(_ report: StateCommand.ReportLaunch, in db: Database, fleet: inout FleetSnapshot) throws
        -> CommandOutcome
    {
        let decision = LaunchRules.report(
            existing: try launch(report.launchID, in: db), launchID: report.launchID, reporter: report.nodeID,
            state: report.state, reason: report.reason, note: report.note, atMs: report.atMs, fleet: &fleet.view)
        let outcome = try store(decision, in: db, answer: CommandOutcome.launchUpdated)
        if let record = decision.recordToWrite {
            let output = report.output?.bounded()
            if let output { try saveOutput(output, launchID: record.id, in: db) }
            try followJob(of: record, output: output, in: db)
        }
        return outcome
    }

    static func terminateLaunch(_ terminate: StateCommand.TerminateLaunch, in db: Database, fleet: inout FleetSnapshot)
        throws -> CommandOutcome
    {
        let decision = LaunchRules.terminate(
            existing: try launch(terminate.launchID, in: db), launchID: terminate.launchID, atMs: terminate.atMs,
            note: terminate.note, fleet: &fleet.view)
        let outcome = try store(decision, in: db, answer: CommandOutcome.launchUpdated)
        if let record = decision.recordToWrite { try followJob(of: record, output: nil, in: db) }
        return outcome
    }

    /// Writes what the launch rules decided, and answers.
    static func store(
        _ decision: LaunchDecision, in db: Database, answer: (LaunchRecord) -> CommandOutcome
    ) throws -> CommandOutcome {
        switch decision {
        case .placed(let record):
            // The placement's node lists are as large as the fleet: encoding them with JSONEncoder
            // on every apply stalled the Raft loop into elections with 10,000 nodes. They are
            // stored apart, once, in their compact binary form; the record stays light.
            let light = record.withoutPlacementLists()
            try saveLaunch(light, placement: record.placement?.storedBytes(), in: db)
            return answer(light)
        case .pending(let record), .moved(let record):
            try saveLaunch(record, in: db)
            return answer(record)
        case .unchanged(let record): return answer(record)
        case .refused(let refusal): return .rejected(CommandRejection(refusal))
        }
    }

    // MARK: Rows

    static func launch(_ id: String, in db: Database) throws -> LaunchRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT record FROM launches WHERE id = ?"), arguments: [id])
            .map { try decodeLaunch($0) }
    }

    /// Writes a launch's row; `placement` (the full explanation's stored form) only when it was placed
    /// now — later writes keep the stored one. `record` must be light
    /// (`withoutPlacementLists`): it is encoded on every change.
    /// `run` names the job a job's run belongs to, when the row is first written.
    static func saveLaunch(
        _ record: LaunchRecord, placement: [UInt8]? = nil, run: (jobID: String, number: Int)? = nil, in db: Database
    ) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO launches (id, node_id, state, created_at_ms, updated_at_ms, record, placement, job_id,
                    run_number)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, state = excluded.state,
                    updated_at_ms = excluded.updated_at_ms, record = excluded.record,
                    placement = COALESCE(excluded.placement, placement)
                """
        ).execute(arguments: [
            record.id, record.nodeID, record.state.rawValue, record.createdAtMs, record.updatedAtMs,
            String(decoding: record.pendingCommandJSONBytes() ?? StateCommand.canonicalJSON(record), as: UTF8.self),
            placement.map { Data($0) }, run?.jobID, run?.number,
        ])
    }

    /// The full placement explanation of a launch, as JSON: every node ranked or rejected when
    /// it was placed (nil before it was placed).
    public func launchPlacementJSON(id: String) throws(StateStoreError) -> [UInt8]? {
        let stored = try Self.wrap {
            try writer.read { db in
                try Data.fetchOne(db, sql: "SELECT placement FROM launches WHERE id = ?", arguments: [id]).map {
                    Array($0)
                }
            }
        }
        guard let stored else { return nil }
        guard let explanation = Explanation(storedBytes: stored) else {
            throw .corruptRow(table: "launches", reason: "launch \(id): unreadable placement explanation")
        }
        return explanation.jsonBytes()
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
            db,
            sql:
                "SELECT record FROM launches WHERE node_id IS NOT NULL AND state NOT IN ('terminated', 'failed', 'lost')"
        ).compactMap { try decodeLaunch($0).placedLaunch }
    }
}
