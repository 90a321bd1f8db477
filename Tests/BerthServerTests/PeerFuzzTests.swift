import BerthRaft
import BerthWire
import Foundation
import NIOCore
import Testing

extension ProcessClusterTests {
    /// Issue 8, "a peer cannot stop a node": fuzzing above the framing. Every frame here is
    /// well formed; what varies is whether its values make sense.
    @Suite("peer message fuzz")
    struct PeerMessageFuzz {
        /// A seeded generator, so a failure names the seed that replays it.
        struct Seeded: RandomNumberGenerator {
            var state: UInt64
            mutating func next() -> UInt64 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
        }

        /// One random Raft message from `from` to `to`: nonsense (refused before the core, at any
        /// term), a stale message of any kind (a term below the current one), or a response of
        /// the current term with random fields. None can take leadership, so the cluster must
        /// keep its data; the nodes must stay up whatever they are sent.
        static func message(from: UInt64, to: UInt64, currentTerm: UInt64, rng: inout Seeded) -> WireMessage {
            func any() -> UInt64 { [0, 1, 7, 1000, .max / 2, .max].randomElement(using: &rng)! }
            func entries(from start: UInt64, count: Int, term: UInt64) -> [WireEntry] {
                (0..<count).map { offset in
                    WireEntry(
                        term: term, index: start &+ UInt64(offset),
                        payload: Bool.random(using: &rng)
                            ? .empty
                            : .command(
                                (0..<Int.random(in: 0...64, using: &rng)).map { _ in
                                    UInt8.random(in: 0...255, using: &rng)
                                }))
                }
            }
            let stale = currentTerm > 1 ? UInt64.random(in: 0..<currentTerm, using: &rng) : 0
            switch Int.random(in: 0..<9, using: &rng) {
            case 0:  // entries that do not follow prevIndex
                let prev = UInt64.random(in: 0...50, using: &rng)
                return WireMessage(
                    from: from, to: to, term: any(),
                    body: .appendEntries(
                        WireAppendEntries(
                            prevIndex: prev, prevTerm: 0, entries: entries(from: prev + 2, count: 3, term: 1),
                            commit: any())))
            case 1:  // terms going backwards inside an append, or past the message's term
                let prev = UInt64.random(in: 0...50, using: &rng)
                var list = entries(from: prev + 1, count: 2, term: 5)
                list[1].term = 2
                return WireMessage(
                    from: from, to: to, term: 5,
                    body: .appendEntries(WireAppendEntries(prevIndex: prev, prevTerm: 1, entries: list, commit: any())))
            case 2:  // an empty snapshot
                return WireMessage(
                    from: from, to: to, term: any(),
                    body: .installSnapshot(
                        WireSnapshot(
                            metadata: WireSnapshotMetadata(
                                index: any(), term: any(), configuration: WireConfiguration(voters: [1])),
                            data: [])))
            case 3:  // a vote whose last term is past its own
                return WireMessage(
                    from: from, to: to, term: 3, body: .requestVote(WireRequestVote(lastIndex: any(), lastTerm: 4)))
            case 4:  // a stale append with plausible entries
                let prev = UInt64.random(in: 0...30, using: &rng)
                return WireMessage(
                    from: from, to: to, term: stale,
                    body: .appendEntries(
                        WireAppendEntries(
                            prevIndex: prev, prevTerm: min(stale, 1),
                            entries: entries(from: prev + 1, count: 4, term: stale),
                            commit: any())))
            case 5:  // stale votes, heartbeats, transfers
                let bodies: [WireMessageBody] = [
                    .requestVote(
                        WireRequestVote(lastIndex: any(), lastTerm: min(stale, 1), preVote: Bool.random(using: &rng))),
                    .heartbeat(WireHeartbeat(commit: any(), readRound: any())), .timeoutNow,
                ]
                return WireMessage(from: from, to: to, term: stale, body: bodies.randomElement(using: &rng)!)
            case 6:  // acknowledgements of the current term with random indices
                return WireMessage(
                    from: from, to: to, term: currentTerm,
                    body: .appendEntriesResponse(
                        WireAppendEntriesResponse(
                            success: Bool.random(using: &rng), matchIndex: any(), conflictTerm: any(),
                            conflictIndex: any())))
            case 7:
                return WireMessage(
                    from: from, to: to, term: currentTerm,
                    body: .heartbeatResponse(WireHeartbeatResponse(readRound: 0)))
            default:
                return WireMessage(
                    from: from, to: to, term: currentTerm,
                    body: .requestVoteResponse(
                        WireRequestVoteResponse(granted: Bool.random(using: &rng), preVote: true)))
            }
        }

        @Test(
            "thousands of well-framed random messages: every node stays up, nonsense is refused, no acknowledged write is lost"
        )
        func randomMessages() async throws {
            let seed = UInt64.random(in: 0...UInt64.max)
            var rng = Seeded(state: seed)
            try await withServerCluster { cluster in
                let leader = try await cluster.waitForLeader()
                let others = cluster.ids.filter { $0 != leader.id }
                let (target, impersonated) = (others[0], others[1])
                let before = try await cluster.createJobs(10, via: cluster.ids, concurrency: 2, prefix: "before-fuzz")

                // Impersonate a follower towards the leader and the other follower, 1,000 frames
                // each, in batches on fresh connections (a refused message closes one).
                for victim in [leader.id, target] {
                    var sent = 0
                    while sent < 1000 {
                        var chunks: [ByteBuffer] = []
                        var hello = ByteBuffer()
                        try PeerFrameCodec.encode(
                            .hello(Hello(clusterID: "berth", nodeID: impersonated, httpAddress: "127.0.0.1:9")),
                            into: &hello)
                        chunks.append(hello)
                        for _ in 0..<50 {
                            var frame = ByteBuffer()
                            let message = Self.message(
                                from: impersonated, to: victim, currentTerm: leader.term, rng: &rng)
                            if case .installSnapshot(let snapshot) = message.body {
                                // Snapshots travel as chunks: this one is a single, empty chunk.
                                try PeerFrameCodec.encode(
                                    .snapshotChunk(
                                        SnapshotChunk(
                                            from: message.from, to: message.to, term: message.term,
                                            metadata: snapshot.metadata, totalBytes: 0, offset: 0, data: [],
                                            isLast: true)),
                                    into: &frame)
                            } else {
                                try PeerFrameCodec.encode(.raft(message), into: &frame)
                            }
                            chunks.append(frame)
                        }
                        _ = try await RawPeerConnection.exchange(
                            port: cluster.member(victim).peerPort, sending: chunks, wait: .milliseconds(50))
                        sent += 50
                    }
                    #expect(cluster.local.isRunning(victim), "node \(victim) died (seed \(seed))")
                }
                for id in cluster.ids {
                    #expect(cluster.local.isRunning(id), "node \(id) is not running (seed \(seed))")
                }
                #expect(
                    cluster.logCount(target, "makes no sense") > 0, "no nonsense refused on \(target) (seed \(seed))")

                // The cluster still works and holds everything acknowledged, on every node.
                let after = try await cluster.createJobs(10, via: cluster.ids, concurrency: 2, prefix: "after-fuzz")
                for id in cluster.ids {
                    let seen = try await cluster.jobIDs(on: id, consistent: true)
                    #expect(Set(before + after).isSubset(of: seen), "node \(id) lost writes (seed \(seed))")
                }
                // And the fuzzed follower's disk is still a valid log: it restarts and catches up.
                await cluster.stop(target, signal: SIGTERM)
                try await cluster.start(target)
                let current = try await cluster.waitForLeader()
                try await cluster.waitCaughtUp(target, to: current.id)
            }
        }
    }
}
