import BerthRaft
import Foundation
import Testing

extension ProcessClusterTests {
    /// Issue 8, "a slow disk is not a dead leader": the log's fsync runs off the Raft thread,
    /// so ticks and heartbeats go on while the disk works.
    @Suite("slow disk")
    struct SlowDisk {
        @Test("300 ms fsync stalls on the leader under load cause no election, and writes keep committing")
        func slowLeaderDiskKeepsLeadership() async throws {
            try await withServerCluster(environment: ["BERTH_TEST_HOOKS": "1"]) { cluster in
                let leader = try await cluster.waitForLeader()
                let slowed = try await HTTPCall.post(
                    "\(cluster.url(leader.id))/debug/fsync-delay", json: "{\"milliseconds\":300}")
                #expect(slowed.status == 200, "\(slowed)")

                // Eight writers for about three seconds: every leader write waits 300 ms, ten
                // times the election timeout's lower bound (100 ms with the default ticks).
                let startedAt = Date()
                let written = try await withThrowingTaskGroup(of: Int.self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            var count = 0
                            while secondsSince(startedAt) < 3 {
                                _ = try await cluster.createAcknowledgedJob(
                                    via: leader.id, command: "echo slow-\(worker)-\(count)")
                                count += 1
                            }
                            return count
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(written >= 8, "only \(written) writes in 3 s")
                for id in cluster.ids {
                    let view = try await cluster.status(id)
                    #expect(view.currentTerm == leader.term, "node \(id) is in term \(view.currentTerm)")
                    #expect(view.leaderID == leader.id, "node \(id) follows \(view.leaderID ?? 0)")
                }
                #expect(cluster.logCount(leader.id, "role=follower") == 0, "the leader stepped down")
            }
        }
    }
}
