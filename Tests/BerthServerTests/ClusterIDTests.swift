import BerthRaft
import Foundation
import Testing

extension ProcessClusterTests {
    /// Spec §2: "every connection is checked for cluster id …; a message from another cluster is
    /// refused and logged".
    @Suite("cluster id")
    struct ClusterID {
        @Test(
            "a node restarted with another --cluster-id is refused by the others, who keep working; it never learns a leader"
        )
        func foreignClusterRefused() async throws {
            try await withServerCluster { cluster in
                var leader = try await cluster.waitForLeader()
                if leader.id == 3 {
                    let moved = try await HTTPCall.post(
                        "\(cluster.url(3))/api/cluster/transfer-leadership", json: "{\"target\":1}")
                    #expect(moved.status == 200, "\(moved)")
                    leader = try await cluster.waitForLeader(within: 5)
                }
                await cluster.stop(3)
                try await cluster.start(3, clusterID: "someone-else")
                let restartedAt = Date()

                for id: NodeID in [1, 2] {
                    _ = try await eventually("node \(id) to log that it refused node 3's handshake", within: 10) {
                        () -> Bool? in
                        let refusals = cluster.log(id).split(separator: "\n").filter {
                            $0.contains("refused peer handshake") && $0.contains("wrong_cluster")
                        }
                        return refusals.isEmpty ? nil : true
                    }
                }

                let survivors: [NodeID] = [1, 2]
                let jobs = try await cluster.createJobs(4, via: survivors, concurrency: 2, prefix: "two-nodes")
                for id in survivors {
                    let seen = try await cluster.jobIDs(on: id, consistent: true)
                    #expect(Set(jobs).isSubset(of: seen), "node \(id)")
                }
                #expect(try await cluster.waitForLeader(among: survivors, within: 5) == leader)
                let seenByLeader = try await cluster.status(leader.id).node(3)
                #expect(seenByLeader?.isAlive == false, "the leader reports node 3 as not alive")

                // Several election timeouts (10–20 ticks of 10 ms) pass; node 3 stays leaderless.
                while secondsSince(restartedAt) < 2 {
                    let view = try await cluster.status(3)
                    #expect(view.leaderID == nil, "node 3 learned leader \(view.leaderID ?? 0)")
                    #expect(view.clusterID == "someone-else")
                    try await Task.sleep(for: .milliseconds(100))
                }
                let ready = try await HTTPCall.get("\(cluster.url(3))/health/ready")
                #expect(ready.status == 503, "\(ready)")
                let onNode3 = try await cluster.jobIDs(on: 3)
                #expect(onNode3.isDisjoint(with: jobs), "nothing written since reaches node 3")
                let fromOthers = cluster.log(3).split(separator: "\n").filter {
                    $0.contains("peer refused our handshake") || $0.contains("refused peer handshake")
                }
                #expect(!fromOthers.isEmpty, "node 3 logs the refusals too")
            }
        }
    }
}
