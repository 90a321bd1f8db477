import Testing

@testable import BerthRaft

/// Linearizable reads through ReadIndex (thesis §6.4).
@Suite struct ReadIndexTests {
    @Test("thesis §6.4: the leader answers a read once a quorum confirms its leadership")
    func readConfirmedByQuorum() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].propose("w")
        cluster.settle()
        try cluster[1].readIndex(id: 42)
        cluster.settle()
        #expect(cluster.readStates[1] == [ReadState(id: 42, index: 2)])
    }

    @Test("thesis §6.4: a leader cut off from the majority cannot answer a read")
    func isolatedLeaderCannotRead() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(1)
        try cluster[1].readIndex(id: 7)
        cluster.settle()
        #expect(cluster.readStates[1, default: []].isEmpty)
        // When it steps down (CheckQuorum) the read is reported as failed, not dropped silently.
        cluster.tick(25, only: [1])
        #expect(cluster.failedReads[1] == [7])
    }

    @Test("thesis §6.4: a new leader defers reads until an entry of its term commits")
    func readDeferredUntilTermCommit() throws {
        // The new leader's noop is held back from everybody.
        let cluster2 = TestCluster(voters: [1, 2, 3])
        cluster2.intercept = { message in
            if case .appendEntries = message.body { return false }
            return true
        }
        cluster2.elect(1)
        #expect(cluster2[1].status.role == .leader)
        try cluster2[1].readIndex(id: 1)
        cluster2.settle()
        #expect(cluster2.readStates[1, default: []].isEmpty)
        cluster2.intercept = nil
        cluster2.tick(2, only: [1])
        #expect(cluster2.readStates[1] == [ReadState(id: 1, index: 1)])
    }

    @Test("a follower refuses a read with the leader to forward it to")
    func followerRefusesWithHint() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        #expect(throws: RaftError.notLeader(leaderHint: 1)) { try cluster[2].readIndex(id: 1) }
    }

    @Test("a single-voter leader answers reads at once")
    func singleVoterRead() throws {
        let cluster = TestCluster(voters: [1])
        cluster.elect(1)
        cluster.settle()
        try cluster[1].readIndex(id: 3)
        cluster.settle()
        #expect(cluster.readStates[1] == [ReadState(id: 3, index: 1)])
    }
}
