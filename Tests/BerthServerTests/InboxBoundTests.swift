import BerthRaft
import BerthWire
import Foundation
import NIOCore
import Testing

@testable import BerthServer

extension ProcessClusterTests {
    /// Issue 8, "deadlines and bounds everywhere": the Raft loop's inbox is bounded, so a peer
    /// that sends faster than the loop steps cannot grow a node's memory without limit.
    @Suite("Raft loop inbox bound")
    struct InboxBound {
        @Test(
            "a flood of peer messages into a stalled Raft loop is dropped past the bound; the node stays up and in the cluster"
        )
        func floodIntoStalledLoop() async throws {
            try await withServerCluster(environment: ["BERTH_TEST_HOOKS": "1"]) { cluster in
                let leader = try await cluster.waitForLeader()
                let others = cluster.ids.filter { $0 != leader.id }
                let (target, impersonated) = (others[0], others[1])
                let before = try await cluster.createJobs(5, via: cluster.ids, concurrency: 2, prefix: "before-flood")

                // Long enough that the whole flood arrives while the loop sleeps even on a loaded
                // machine (with 2 s, a full parallel test run once delivered part of it late).
                let stalled = try await HTTPCall.post(
                    "\(cluster.url(target))/debug/stall-raft-loop", json: "{\"milliseconds\":6000}")
                #expect(stalled.status == 200, "\(stalled)")

                // 20,000 harmless messages (a heartbeat answer to a follower is ignored by the
                // core) while the loop sleeps: more than twice the bound of 8,192.
                let flood = 20_000
                var chunks: [ByteBuffer] = []
                var hello = ByteBuffer()
                try PeerFrameCodec.encode(
                    .hello(Hello(clusterID: "berth", nodeID: impersonated, httpAddress: "127.0.0.1:9")), into: &hello)
                chunks.append(hello)
                for _ in 0..<(flood / 1000) {
                    var batch = ByteBuffer()
                    for _ in 0..<1000 {
                        try PeerFrameCodec.encode(
                            .raft(
                                WireMessage(
                                    from: impersonated, to: target, term: leader.term,
                                    body: .heartbeatResponse(WireHeartbeatResponse(readRound: 0)))),
                            into: &batch)
                    }
                    chunks.append(batch)
                }
                _ = try await RawPeerConnection.exchange(
                    port: cluster.member(target).peerPort, sending: chunks, wait: .milliseconds(300))

                // The loop wakes up to at most the bound; the rest were counted and dropped.
                let bound = RaftLoop.maxInboxMessages
                let dropped = try await eventually("messages dropped on node \(target)", within: 30) {
                    () async throws -> Double? in
                    let dropped = try await Self.droppedMessages(cluster.url(target))
                    return dropped >= Double(flood - bound) ? dropped : nil
                }
                #expect(dropped <= Double(flood), "more dropped than sent: \(dropped)")
                #expect(cluster.local.isRunning(target), "node \(target) died")

                // The node is still a working member: it catches up and holds every write.
                let after = try await cluster.createJobs(5, via: cluster.ids, concurrency: 2, prefix: "after-flood")
                let current = try await cluster.waitForLeader()
                try await cluster.waitCaughtUp(target, to: current.id)
                let seen = try await cluster.jobIDs(on: target, consistent: true)
                #expect(Set(before + after).isSubset(of: seen), "node \(target) lost writes")
            }
        }

        /// `berth_raft_inbox_dropped_total` from a node's `/metrics`.
        static func droppedMessages(_ url: String) async throws -> Double {
            let answer = try await HTTPCall.get("\(url)/metrics")
            for line in answer.body.split(separator: "\n") where line.hasPrefix("berth_raft_inbox_dropped_total") {
                if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
            }
            return 0
        }
    }
}
