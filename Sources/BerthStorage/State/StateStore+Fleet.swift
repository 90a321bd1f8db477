import BerthControlPlane
import BerthRaft
import Foundation
import GRDB

/// The fleet as placement sees it: every node's truth (and, later, what is placed on it), kept
/// in memory on every server so that explaining over a large fleet never queries SQLite per
/// node. The `nodes` table is the durable copy; the view is rebuilt from it when the store
/// opens and after a snapshot is restored, and changed in step with it by every apply.
public struct FleetSnapshot: Sendable {
    /// The view at `appliedIndex`.
    public var view: FleetView
    /// The last applied log index this view reflects: what explain and plan answers call
    /// `state_index`.
    public var appliedIndex: LogIndex
    /// The index of the last applied command that changed the fleet (an envelope, a cordon): a
    /// plan made at a `state_index` at or past it still holds.
    public var changedIndex: LogIndex
}

/// The in-memory view and the indices that go with it, behind a lock. The apply path holds the
/// lock for a whole batch (the transaction included), so a reader always gets a view and an
/// index that belong together; readers evaluate on their copy outside the lock.
final class FleetBox: @unchecked Sendable {
    private let lock = NSLock()
    private var snapshot = FleetSnapshot(view: FleetView(), appliedIndex: 0, changedIndex: 0)

    func read() -> FleetSnapshot {
        lock.lock()
        defer { lock.unlock() }
        return snapshot
    }

    /// Runs `body` with the lock held and the snapshot to change.
    func withLock<T, E: Error>(_ body: (inout FleetSnapshot) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&snapshot)
    }
}

extension StateStore {
    /// The fleet view and the applied index it reflects.
    public func fleet() -> FleetSnapshot {
        fleetBox.read()
    }

    /// Rebuilds the in-memory view from the `nodes` table (at open, after a restore, or after an
    /// apply batch failed halfway).
    func reloadFleet() throws(StateStoreError) {
        let (truths, placed, applied, changed) = try Self.wrap {
            try writer.read { db in
                let truths = try Row.fetchAll(db, sql: "SELECT truth FROM nodes").map { row -> NodeTruth in
                    let json: String = row["truth"]
                    do {
                        return try JSONDecoder().decode(NodeTruth.self, from: Data(json.utf8))
                    } catch {
                        throw StateStoreError.corruptRow(table: "nodes", reason: "\(error)")
                    }
                }
                let changed = try Int64.fetchOne(db, sql: "SELECT changed_index FROM fleet_meta WHERE id = 1") ?? 0
                return (
                    truths, try Self.placedLaunches(in: db), try Self.appliedPosition(in: db).index, LogIndex(changed)
                )
            }
        }
        var view = FleetView()
        for truth in truths { view.load(truth) }
        for launch in placed {
            do {
                try view.placeLaunch(launch)
            } catch {
                throw .corruptRow(table: "launches", reason: "\(launch.launchID): \(error.message)")
            }
        }
        fleetBox.withLock { $0 = FleetSnapshot(view: view, appliedIndex: applied, changedIndex: changed) }
    }

    /// Writes a node's truth (insert or replace) and marks the fleet changed at `index`.
    static func saveNode(_ truth: NodeTruth, index: LogIndex, in db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO nodes (node_id, truth, sequence, changed_index) VALUES (?, ?, ?, ?)
                ON CONFLICT (node_id) DO UPDATE SET truth = excluded.truth, sequence = excluded.sequence,
                    changed_index = excluded.changed_index
                """
        ).execute(arguments: [
            truth.nodeID, String(decoding: truth.jsonBytes(), as: UTF8.self),
            Int64(bitPattern: truth.envelope.sequence), Int64(index),
        ])
        try db.cachedStatement(sql: "UPDATE fleet_meta SET changed_index = ? WHERE id = 1")
            .execute(arguments: [Int64(index)])
    }
}
