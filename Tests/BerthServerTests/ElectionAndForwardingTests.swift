import BerthRaft
import Testing

extension ProcessClusterTests {
    /// Spec §2: leader election, and followers forwarding writes to the leader.
    @Suite("election and forwarding")
    struct ElectionAndForwarding {
        @Test("3 nodes elect exactly one leader; a write on a follower is forwarded and readable everywhere")
        func electsAndForwards() async throws {
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()

                var roles: [NodeID: String] = [:]
                for id in cluster.ids { roles[id] = try await cluster.status(id).role }
                #expect(roles.values.filter { $0 == "leader" }.count == 1, "roles: \(roles)")
                #expect(roles[leader.id] == "leader")

                let follower = cluster.ids.first { $0 != leader.id }!
                let created = try await cluster.createJob(via: follower, command: "echo forwarded")
                #expect(created.status == 201, "\(created)")
                let jobID = try #require(created.string("job_id"), "\(created)")
                #expect(created.string("status") == "pending")
                #expect(Set(created.object?.keys.map { $0 } ?? []) == ["job_id", "status"])

                for id in cluster.ids {
                    let read = try await HTTPCall.get("\(cluster.url(id))/api/jobs/\(jobID)?consistent=true")
                    #expect(read.status == 200, "node \(id): \(read)")
                    #expect(read.string("id") == jobID, "node \(id): \(read)")
                    #expect(read.string("command") == "echo forwarded", "node \(id): \(read)")
                }
            }
        }
    }
}
