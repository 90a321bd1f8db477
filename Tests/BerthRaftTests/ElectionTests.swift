import Testing

@testable import BerthRaft

/// Leader election (§5.2), the election restriction (§5.4.1), pre-vote (thesis §9.6) and
/// CheckQuorum (thesis §6.2).
@Suite struct ElectionTests {
    @Test("§5.2: a follower that hears no leader for an election timeout becomes leader with a majority")
    func followerTimesOutAndWins() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.tick(30, only: [1])
        #expect(cluster[1].status.role == .leader)
        #expect(cluster[1].status.term == 1)
        #expect(cluster[2].status.leader == 1)
        #expect(cluster[3].status.leader == 1)
    }

    @Test("§5.2: randomized timeouts: with every node ticking, exactly one leader emerges")
    func randomizedTimeoutsElectOne() {
        let cluster = TestCluster(voters: [1, 2, 3, 4, 5])
        cluster.tick(40)
        #expect(cluster.leaders.count == 1)
    }

    @Test("§5.2: a server grants at most one vote per term")
    func oneVotePerTerm() {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.preVote = false }
        let voter = cluster[3]
        voter.step(Message(from: 1, to: 3, term: 1, body: .requestVote(RequestVote(lastIndex: 0, lastTerm: 0))))
        voter.step(Message(from: 2, to: 3, term: 1, body: .requestVote(RequestVote(lastIndex: 0, lastTerm: 0))))
        let ready = voter.ready()
        let answers = ready.messages.compactMap { message -> (NodeID, Bool)? in
            guard case .requestVoteResponse(let response) = message.body else { return nil }
            return (message.to, response.granted)
        }
        #expect(answers.map(\.0) == [1, 2])
        #expect(answers.map(\.1) == [true, false])
    }

    @Test("§5.2, Figure 2: the vote is in the same Ready as the answer, so it is persisted before it is sent")
    func voteIsPersistedBeforeAnswer() {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.preVote = false }
        let voter = cluster[2]
        voter.step(Message(from: 1, to: 2, term: 4, body: .requestVote(RequestVote(lastIndex: 0, lastTerm: 0))))
        let ready = voter.ready()
        #expect(ready.hardState == HardState(term: 4, vote: 1, commit: 0))
        #expect(ready.mustSync)
        #expect(ready.messages.count == 1)
    }

    @Test("§5.2: a restarted voter remembers its vote and does not vote again in that term")
    func restartedVoterKeepsVote() {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.preVote = false }
        cluster[2].step(Message(from: 1, to: 2, term: 1, body: .requestVote(RequestVote(lastIndex: 0, lastTerm: 0))))
        cluster.persist(cluster[2].ready(), at: 2)
        cluster[2].advance()
        cluster.restart(2)
        cluster[2].step(Message(from: 3, to: 2, term: 1, body: .requestVote(RequestVote(lastIndex: 0, lastTerm: 0))))
        let ready = cluster[2].ready()
        guard case .requestVoteResponse(let response) = ready.messages.first?.body else {
            Issue.record("no vote answer")
            return
        }
        #expect(!response.granted)
    }

    @Test("§5.4.1: a candidate whose log is behind cannot win")
    func staleLogLosesElection() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].propose("x")
        cluster.settle()
        // Node 3 misses the next entry and then tries to lead.
        cluster.isolate(3)
        try cluster[1].propose("y")
        cluster.settle()
        cluster.heal()
        cluster.isolate(1)
        cluster[3].campaign()
        cluster.settle()
        #expect(cluster[3].status.role != .leader)
        cluster[2].campaign()
        cluster.settle()
        #expect(cluster[2].status.role == .leader)
    }

    @Test("§5.2: a candidate that hears from a leader of its term steps down")
    func candidateStepsDownForLeader() {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.preVote = false }
        cluster.isolate(3)
        cluster[3].campaign()
        cluster.settle()
        #expect(cluster[3].status.role == .candidate)
        #expect(cluster[3].status.term == 1)
        cluster.heal()
        cluster.elect(1)
        // 1 wins term 2 (3's vote request raised nobody else's term while isolated).
        #expect(cluster[1].status.role == .leader)
        #expect(cluster[3].status.role == .follower)
        #expect(cluster[3].status.leader == 1)
    }

    @Test("thesis §9.6: an isolated server pre-votes without raising its term")
    func preVoteKeepsTerm() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        cluster.tick(100, only: [3])
        #expect(cluster[3].status.term == 1)
        #expect(cluster[3].status.role == .preCandidate)
    }

    @Test("thesis §9.6: a server rejoining after a partition does not disrupt a healthy leader")
    func rejoinDoesNotDisrupt() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        for _ in 0..<50 {
            cluster.tick(1, only: [1, 2, 3])
        }
        cluster.heal()
        cluster.tick(30)
        #expect(cluster[1].status.role == .leader)
        #expect(cluster[1].status.term == 1)
        try cluster[1].propose("after")
        cluster.settle()
        #expect(cluster.commands(on: 3) == ["after"])
    }

    @Test("thesis §4.2.3: without pre-vote, leader lease makes voters ignore a disruptive candidate")
    func leaseIgnoresDisruptiveCandidate() {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.preVote = false }
        cluster.elect(1)
        cluster.isolate(3)
        cluster[3].campaign()
        cluster[3].campaign()
        cluster.settle()
        #expect(cluster[3].status.term == 3)
        cluster.heal()
        cluster[3].campaign()
        cluster.settle()
        // 1 and 2 heard from a leader within an election timeout, so they ignore the request.
        #expect(cluster[2].status.term == 1)
        #expect(cluster[2].status.vote == 1)
        #expect(cluster[1].status.role == .leader)
        // The deposed-term answer to 1's next heartbeat tells 1 about term 4; a normal election follows.
        cluster.tick(40)
        #expect(cluster.leaders.count == 1)
        #expect(cluster[1].status.term >= 4)
    }

    @Test("thesis §6.2: a leader that has not heard from a quorum for an election timeout steps down")
    func checkQuorumStepsDown() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(1)
        cluster.tick(25, only: [1])
        #expect(cluster[1].status.role == .follower)
        #expect(cluster[1].status.leader == .none)
    }

    @Test("thesis §6.2: a leader that hears from a quorum keeps leading")
    func checkQuorumKeepsLeader() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        cluster.tick(25, only: [1, 2])
        #expect(cluster[1].status.role == .leader)
    }

    @Test("§5.2: a single-voter cluster elects itself at once")
    func singleVoter() {
        let cluster = TestCluster(voters: [1])
        cluster.elect(1)
        #expect(cluster[1].status.role == .leader)
    }
}
