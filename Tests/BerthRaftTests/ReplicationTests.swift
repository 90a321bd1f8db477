import Testing

@testable import BerthRaft

/// Log replication (§5.3), commitment (§5.4.2, Figure 8), flow control and backtracking.
@Suite struct ReplicationTests {
    @Test("§5.3: a committed entry is applied on every server, in order")
    func replicatesAndApplies() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].propose("a")
        try cluster[1].propose("b")
        cluster.settle()
        for id: NodeID in [1, 2, 3] {
            #expect(cluster.commands(on: id) == ["a", "b"])
        }
        #expect(cluster[1].status.commit == 3)
    }

    @Test("§5.3: proposals arriving together go out in one AppendEntries per follower (batching)")
    func batchesProposals() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.forgetDelivered()
        for i in 0..<10 { try cluster[1].propose("c\(i)") }
        cluster.settle()
        let appendsWithEntries = cluster.delivered.filter {
            if case .appendEntries(let append) = $0.body { return !append.entries.isEmpty }
            return false
        }
        #expect(appendsWithEntries.count == 2)
        #expect(cluster.commands(on: 3).count == 10)
    }

    @Test("§5.3: a follower's conflicting entries are overwritten by the leader's")
    func conflictingEntriesOverwritten() throws {
        let cluster = TestCluster(voters: [1, 2, 3]) {
            // Elections on demand: no leader lease to wait out.
            $0.checkQuorum = false
        }
        cluster.elect(1)
        try cluster[1].propose("a")
        cluster.settle()
        // 1 appends entries nobody else gets, then loses leadership.
        cluster.isolate(1)
        try cluster[1].propose("lost-1")
        try cluster[1].propose("lost-2")
        cluster.settle()
        cluster.elect(2)
        try cluster[2].propose("b")
        cluster.settle()
        cluster.heal()
        cluster.tick(3)
        #expect(cluster[1].status.leader == 2)
        #expect(cluster.commands(on: 1) == ["a", "b"])
        #expect(cluster[1].status.lastIndex == cluster[2].status.lastIndex)
    }

    @Test("§5.3: conflict hints let the leader skip a whole term in one rejection")
    func fastBacktracking() throws {
        let cluster = TestCluster(voters: [1, 2, 3]) {
            // Elections on demand: no leader lease to wait out.
            $0.checkQuorum = false
        }
        cluster.elect(1)
        cluster.isolate(1)
        for i in 0..<50 { try cluster[1].propose("stale\(i)") }
        cluster.settle()
        cluster.elect(2)
        for i in 0..<5 { try cluster[2].propose("new\(i)") }
        cluster.settle()
        cluster.heal()
        cluster.forgetDelivered()
        cluster.tick(2)
        let rejections = cluster.delivered.filter {
            if case .appendEntriesResponse(let response) = $0.body { return $0.from == 1 && !response.success }
            return false
        }
        // One entry at a time would need ~50 rejections; the term hint needs one or two.
        #expect(rejections.count <= 2)
        #expect(cluster.commands(on: 1) == (0..<5).map { "new\($0)" })
    }

    @Test("§5.3: a follower that is only behind (shorter log) catches up")
    func shortFollowerCatchesUp() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        for i in 0..<20 { try cluster[1].propose("e\(i)") }
        cluster.settle()
        cluster.heal()
        cluster.tick(2)
        #expect(cluster.commands(on: 3).count == 20)
    }

    @Test("§5.4.2, Figure 8: a majority holding an old-term entry does not commit it; a current-term entry does")
    func figure8() throws {
        let cluster = TestCluster(voters: [1, 2, 3]) {
            $0.preVote = false
            $0.checkQuorum = false
        }
        cluster.elect(1)
        // Term 1: leader 1 appends "old" at index 2 and it reaches nobody.
        cluster.isolate(1)
        try cluster[1].propose("old")
        cluster.settle()
        // Term 2: 2 wins with 3's vote, but its own entries reach nobody before it is cut off.
        cluster.heal()
        cluster.isolate(1)
        cluster.intercept = { message in
            if case .appendEntries = message.body { return message.from != 2 }
            return true
        }
        cluster.elect(2)
        #expect(cluster[2].status.role == .leader)
        #expect(cluster[2].status.term == 2)
        cluster.heal()
        cluster.isolate(2)
        // 1 still thinks it leads term 1; 3's answer to its heartbeat moves it to term 2.
        cluster.tick(1, only: [1])
        #expect(cluster[1].status.role == .follower)
        // Term 3: 1 wins with 3's vote and replicates "old" to 3, but its term-3 entry is held back.
        cluster.intercept = { message in
            guard message.from == 1, case .appendEntries(var append) = message.body else { return true }
            append.entries = append.entries.filter { $0.term < 3 }
            cluster[message.to].step(Message(from: 1, to: message.to, term: message.term, body: .appendEntries(append)))
            return false
        }
        cluster.elect(1)
        #expect(cluster[1].status.role == .leader)
        #expect(cluster[1].status.term == 3)
        #expect(cluster[1].status.progress[3]?.match == 2)
        // 1 and 3 hold index 2 — a majority — but it is from term 1: counting must not commit it,
        // since 2 (last term 2) could still be elected and overwrite it.
        #expect(cluster[1].status.commit == 1)
        #expect(cluster.commands(on: 1).isEmpty)
        // Once the term-3 entry reaches a majority, it and everything before it commit.
        cluster.intercept = nil
        cluster.tick(1, only: [1])
        #expect(cluster[1].status.commit == 3)
        #expect(cluster.commands(on: 1) == ["old"])
    }

    @Test("flow control: at most maxInflightMessages appends are outstanding to a silent follower")
    func inflightWindowIsBounded() throws {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.maxInflightMessages = 4 }
        cluster.elect(1)
        // Follower 3 stops answering; its appends still arrive.
        cluster.cutLink(from: 3, to: 1)
        cluster.forgetDelivered()
        for i in 0..<20 {
            try cluster[1].propose("p\(i)")
            cluster.settle()
        }
        let appendsTo3 = cluster.delivered.filter {
            if case .appendEntries(let append) = $0.body { return $0.to == 3 && !append.entries.isEmpty }
            return false
        }
        #expect(appendsTo3.count == 4)
        #expect(cluster[1].status.progress[3]?.state == "replicate")
        cluster.heal()
        cluster.tick(3)
        #expect(cluster.commands(on: 3).count == 20)
    }

    @Test("§5.3: a restarted follower keeps its log and the cluster goes on")
    func restartKeepsLog() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        for i in 0..<5 { try cluster[1].propose("r\(i)") }
        cluster.settle()
        cluster.restart(2)
        #expect(cluster[2].status.lastIndex == cluster[1].status.lastIndex)
        #expect(cluster[2].status.term == cluster[1].status.term)
        try cluster[1].propose("after")
        cluster.tick(2)
        #expect(cluster.commands(on: 2).last == "after")
    }
}
