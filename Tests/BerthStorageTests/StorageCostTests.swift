import BerthControlPlane
import BerthRaft
import Foundation
import GRDB
import Testing

@testable import BerthStorage

/// What keeps a write cheap on every member: expired idempotency keys go in a periodic purge
/// (not a statement per write), and the node and executor indexes hold only rows that have one
/// while the queries by node and executor still use them.
@Suite struct StorageCostTests {
    private static let t0: Int64 = 1_800_000_000_000
    private static let dayMs: Int64 = 24 * 60 * 60 * 1_000

    private func create(_ id: String, at ms: Int64, key: String) -> StateCommand {
        .createJob(.init(id: id, command: "echo", createdAtMs: ms, idempotencyKey: key))
    }

    private func keyCount(_ state: StateStore) throws -> Int {
        try state.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM idempotency_keys") ?? 0 }
    }

    @Test("expired keys stay until an index that is a multiple of the purge period, and are removed there")
    func expiredKeysPurgedPeriodically() throws {
        let state = try StateStore.inMemory()
        var index: LogIndex = 0
        for n in 0..<10 {
            index += 1
            _ = try state.apply(index: index, term: 1, command: create("old-\(n)", at: Self.t0, key: "old-\(n)"))
        }
        let later = Self.t0 + Self.dayMs + 1
        while (index + 1) % IdempotencyRecord.purgeEveryIndices != 0 {
            index += 1
            _ = try state.apply(index: index, term: 1, command: create("new-\(index)", at: later, key: "new-\(index)"))
        }
        let before = try keyCount(state)
        #expect(before == Int(index))
        index += 1
        _ = try state.apply(index: index, term: 1, command: create("purger", at: later, key: "purger"))
        #expect(try keyCount(state) == before + 1 - 10)
    }

    @Test("an expired key that is still stored counts as absent: the command applies and takes the key")
    func expiredKeyStillStoredIsAbsent() throws {
        let state = try StateStore.inMemory()
        _ = try state.apply(index: 1, term: 1, command: create("a", at: Self.t0, key: "K"))
        let again = try state.apply(index: 2, term: 1, command: create("b", at: Self.t0 + Self.dayMs + 1, key: "K"))
        guard case .applied(_, .jobCreated(let job)) = again else {
            Issue.record("unexpected \(again)")
            return
        }
        #expect(job.id == "b")
        // The key now answers with the second job's answer.
        let retry = try state.apply(index: 3, term: 1, command: create("c", at: Self.t0 + Self.dayMs + 2, key: "K"))
        #expect(retry == .replayed(index: 3, outcome: again.outcome!))
    }

    @Test("queries by node and by executor use the partial indexes")
    func partialIndexesUsed() throws {
        let state = try StateStore.inMemory()
        let plans: [(String, String)] = [
            (
                "SELECT record FROM launches WHERE node_id = ? AND state IN ('validated', 'terminating')",
                "launches_by_node"
            ),
            ("SELECT * FROM jobs WHERE executed_by = ? ORDER BY created_at_ms DESC, id DESC", "jobs_by_executed_by"),
        ]
        for (sql, index) in plans {
            let detail = try state.writer.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: ["node-1"])
                    .map { $0["detail"] as String }.joined(separator: "; ")
            }
            #expect(detail.contains(index), "\(sql): \(detail)")
        }
    }
}
