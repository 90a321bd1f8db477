import BerthRaft
import BerthServer
import Foundation
import Testing

extension ProcessClusterTests {
    /// Spec §2: "a new node joins as a learner, catches up, is promoted; nodes can be removed; one
    /// change at a time" — through `POST/DELETE /api/cluster/members` and `berth server --join`.
    @Suite("membership change")
    struct MembershipChange {
        @Test("node 4 is added as a learner, joins with --join, is promoted; node 3 is removed; writes keep working")
        func addAndRemove() async throws {
            var missingAPI: String?
            try await withServerCluster { cluster in
                var leader = try await cluster.waitForLeader()
                missingAPI = try await Self.missingAPI(cluster, on: leader.id)
                if missingAPI != nil { return }
                if leader.id == 3 {
                    // Node 3 is removed below; keep the leader out of it so one change is tested at a time.
                    let moved = try await HTTPCall.post(
                        "\(cluster.url(3))/api/cluster/transfer-leadership", json: "{\"target\":1}")
                    #expect(moved.status == 200, "\(moved)")
                    leader = try await cluster.waitForLeader(within: 5)
                }
                let before = try await cluster.createJobs(10, via: cluster.ids, concurrency: 4, prefix: "before-join")

                let newcomer = try cluster.local.addMember(id: 4, ports: freeLoopbackPort)
                let leaderURL = cluster.url(leader.id)
                _ = newcomer
                // Node 4 starts empty and asks through a follower; the leader admits it under the
                // incarnation its data dir was given, as a learner, and promotes it once caught up.
                let follower = cluster.ids.first { $0 != leader.id && $0 != 4 }!
                try await cluster.start(4, peers: "", extraArguments: ["--join", cluster.url(follower)])
                _ = try await eventually("node 4 to be a voter", within: 20) { () -> Bool? in
                    try await cluster.status(leader.id).node(4)?.voter == true ? true : nil
                }
                let admitted = try await cluster.status(leader.id).node(4)
                let own = try await cluster.status(4)
                #expect(
                    admitted?.incarnation != nil && admitted?.incarnation == own.incarnation,
                    "admitted under its own incarnation")
                // The log shows the order: learner first, then promotion.
                let changes = try await Self.configChanges(cluster, on: leader.id)
                let learnerAt = changes.firstIndex(of: "add_learner 4")
                let promotedAt = changes.firstIndex(of: "promote 4")
                #expect(learnerAt != nil && promotedAt != nil && learnerAt! < promotedAt!, "changes: \(changes)")

                _ = try await eventually("node 4 to hold the jobs written before it joined", within: 15) {
                    () -> Bool? in
                    Set(before).isSubset(of: try await cluster.jobIDs(on: 4)) ? true : nil
                }
                let view4 = try await cluster.status(4)
                #expect(view4.leaderID == leader.id, "node 4 follows the leader")

                // Remove node 3; retried while the promotion is still being applied.
                let removed = try await eventually("DELETE /api/cluster/members/3 to succeed", within: 10) {
                    () -> HTTPAnswer? in
                    let answer = try await HTTPCall.delete("\(leaderURL)/api/cluster/members/3")
                    if answer.status == 409 { throw Observation("\(answer)") }
                    return answer
                }
                #expect(removed.status == 200, "\(removed)")
                #expect(removed.object?["removed"] as? Bool == true, "\(removed)")
                _ = try await eventually("node 3 to leave the configuration", within: 10) { () -> Bool? in
                    let members = Set(try await cluster.status(leader.id).nodes.map(\.nodeID))
                    guard members == [1, 2, 4] else { throw Observation("members \(members.sorted())") }
                    return true
                }

                let remaining: [NodeID] = [1, 2, 4]
                let after = try await cluster.createJobs(6, via: remaining, concurrency: 3, prefix: "after-remove")
                let final = try await cluster.waitForLeader(among: remaining, within: 10)
                #expect(final.id != 3)
                for id in remaining {
                    let seen = try await cluster.jobIDs(on: id, consistent: true)
                    #expect(Set(before + after).isSubset(of: seen), "node \(id) misses jobs")
                }
            }
            if let missingAPI { try Test.cancel(Comment(rawValue: missingAPI)) }
        }

        @Test(
            "adding a member through a follower answers what the leader answers: 409 MEMBER_NOT_CONNECTED while the new node never connected"
        )
        func addThroughFollower() async throws {
            var missingAPI: String?
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                missingAPI = try await Self.missingAPI(cluster, on: leader.id)
                if missingAPI != nil { return }
                let follower = cluster.ids.first { $0 != leader.id }!
                let newcomer = try cluster.local.addMember(id: 4, ports: freeLoopbackPort)
                let body =
                    "{\"node_id\":4,\"peer_address\":\"127.0.0.1:\(newcomer.peerPort)\",\"http_address\":\"127.0.0.1:\(newcomer.httpPort)\"}"
                let askedAt = Date()
                let answer = try await HTTPCall.post(
                    "\(cluster.url(follower))/api/cluster/members", json: body, timeoutSeconds: 30)
                let seconds = secondsSince(askedAt)
                // Node 4 never started, so nobody knows the incarnation its data dir will have:
                // the leader cannot admit it, and says so at once.
                #expect(answer.status == 409, "after \(seconds) s: \(answer)")
                #expect(answer.errorCode == "MEMBER_NOT_CONNECTED", "\(answer)")
                #expect(seconds < 5, "answered after \(seconds) s")
                #expect(try await cluster.status(leader.id).node(4) == nil, "node 4 was not added")
            }
            if let missingAPI { try Test.cancel(Comment(rawValue: missingAPI)) }
        }

        /// Why the membership test cannot run, or nil: without the API the route is unknown, so a
        /// bad id answers 404 instead of 400.
        static func missingAPI(_ cluster: ServerCluster, on id: NodeID) async throws -> String? {
            let probe = try await HTTPCall.delete("\(cluster.url(id))/api/cluster/members/not-a-number")
            guard probe.status == 404 else {
                #expect(probe.status == 400, "\(probe)")
                return nil
            }
            return "the membership API (/api/cluster/members) is not there yet: \(probe)"
        }

        /// The membership changes in the leader's Raft log, in order ("add_learner 4", "promote 4", …).
        static func configChanges(_ cluster: ServerCluster, on id: NodeID) async throws -> [String] {
            var changes: [String] = []
            var from: UInt64 = 1
            while true {
                let page = try await HTTPCall.get("\(cluster.url(id))/api/cluster/raft-log?from=\(from)&limit=1000")
                guard page.status == 200, let entries = page.object?["entries"] as? [[String: Any]] else {
                    throw UnexpectedAnswer(context: "GET /api/cluster/raft-log", answer: page)
                }
                for entry in entries where entry["type"] as? String == "config_change" {
                    if let change = entry["change"] as? [String: Any], let (kind, node) = change.first {
                        changes.append("\(kind) \((node as? NSNumber)?.uint64Value ?? 0)")
                    }
                }
                let last = (page.object?["last_index"] as? NSNumber)?.uint64Value ?? 0
                guard let lastEntry = (entries.last?["index"] as? NSNumber)?.uint64Value, lastEntry < last else {
                    return changes
                }
                from = lastEntry + 1
            }
        }
    }
}
