import Testing

@testable import BerthRaft

/// A server that lost its disk forgot its votes and its log. Raft's safety argument (§5.2,
/// §5.4) assumes a vote or an acknowledgement is a durable promise, so such a server must not
/// be counted under the identity it had until the cluster re-admits it (`ConfigChange.rejoin`).
@Suite struct IncarnationTests {
    @Test("§5.4.1 with disk loss: a wiped voter's vote does not elect a candidate that lacks a committed entry")
    func wipedVoteNotCounted() throws {
        // Leader 1 commits "x" with node 2 while node 3 is cut off; then 2 loses its disk and
        // 1 goes down.
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        let ticket = try cluster[1].propose("x")
        cluster.settle()
        #expect(cluster[1].status.commit >= ticket.index)
        cluster.wipe(2, incarnation: 2)
        cluster.remove(1)
        cluster.heal()
        cluster.elect(3)
        cluster.tick(40)
        #expect(cluster.leaders.isEmpty)
        #expect(cluster[3].status.foreignIncarnations == [2: 2])
        // The cluster waits for node 1, which holds the entry; whoever wins then has it.
        cluster.restart(1)
        cluster.tick(40)
        #expect(cluster.leaders.count == 1)
        #expect(cluster.commands(on: 1) == ["x"])
        #expect(cluster.commands(on: 3) == ["x"])
    }

    @Test("§5.2 with disk loss: without the incarnation check, the same history elects the stale candidate")
    func sameHistoryWithoutIncarnationsLosesTheEntry() throws {
        // The control: node 2 wiped but back under the incarnation the cluster knows, which is
        // what a server without incarnations does. Node 3 wins without the committed entry.
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        let ticket = try cluster[1].propose("x")
        cluster.settle()
        #expect(cluster[1].status.commit >= ticket.index)
        cluster.wipe(2, incarnation: .initial)
        cluster.remove(1)
        cluster.heal()
        cluster.elect(3)
        #expect(cluster.leaders == [3])
        #expect(cluster[3].status.lastIndex < ticket.index || cluster.commands(on: 3).isEmpty)
    }

    @Test("§5.3 with disk loss: acknowledgements from a wiped follower do not commit")
    func wipedAckNotCounted() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.wipe(2, incarnation: 9)
        cluster.isolate(3)
        let ticket = try cluster[1].propose("needs-a-real-majority")
        cluster.tick(5, only: [1, 2])
        #expect(cluster[1].status.commit < ticket.index)
        #expect(cluster[1].status.foreignIncarnations[2] == 9)
    }

    @Test("a wiped voter rejoins as a learner under its new incarnation, catches up, and is promoted")
    func rejoinThenPromote() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].propose("before")
        cluster.settle()
        cluster.wipe(3, incarnation: 5)
        cluster.tick(2)
        try cluster[1].proposeConfigChange(.rejoin(3, incarnation: 5))
        cluster.settle()
        cluster.tick(3)
        let configuration = cluster[1].status.configuration
        #expect(configuration.voters == [1, 2])
        #expect(configuration.learners == [3])
        #expect(configuration.incarnation(of: 3) == 5)
        #expect(cluster[1].status.foreignIncarnations.isEmpty)
        #expect(cluster.commands(on: 3) == ["before"])
        try cluster[1].proposeConfigChange(.promote(3))
        cluster.settle()
        #expect(cluster[1].status.configuration.voters == [1, 2, 3])
        // Node 3 now counts under incarnation 5: with 2 cut off, 1 and 3 commit.
        cluster.isolate(2)
        let ticket = try cluster[1].propose("after")
        cluster.settle()
        #expect(cluster[1].status.commit >= ticket.index)
        #expect(cluster.commands(on: 3) == ["before", "after"])
    }

    @Test("the leader forgets a rejoined member's progress: its old match index promised nothing")
    func rejoinResetsProgress() throws {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.promotionMaxLagEntries = 0 }
        cluster.elect(1)
        try cluster[1].propose("x")
        cluster.settle()
        #expect(cluster[1].status.progress[3]?.match == cluster[1].status.lastIndex)
        cluster.wipe(3, incarnation: 5)
        cluster.isolate(3)
        try cluster[1].proposeConfigChange(.rejoin(3, incarnation: 5))
        cluster.settle()
        #expect(cluster[1].status.progress[3]?.match == 0)
        #expect(throws: RaftError.self) { try cluster[1].proposeConfigChange(.promote(3)) }
    }

    @Test("a server replaying a log that admitted another incarnation of it never campaigns")
    func foreignIncarnationOfSelfDoesNotCampaign() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.wipe(3, incarnation: 4)
        // Its disk says it is a voter, but under incarnation 1.
        cluster.add(3, storage: MemoryStorage(configuration: Configuration(voters: [1, 2, 3])))
        cluster.isolate(3)
        cluster.tick(60, only: [3])
        #expect(cluster[3].status.role == .follower)
        #expect(cluster[3].status.term == 0)
    }

    @Test("the leader cannot be re-admitted under another incarnation")
    func rejoinOfLeaderRefused() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.settle()
        #expect(throws: RaftError.invalidConfigChange(.rejoinOfLeader(1))) {
            try cluster[1].proposeConfigChange(.rejoin(1, incarnation: 2))
        }
    }

    @Test("rejoin applies only to a member, under a new non-zero incarnation, and never removes the last voter")
    func rejoinRules() throws {
        let three = Configuration(voters: [1, 2, 3], incarnations: [3: 7])
        #expect(three.applying(.rejoin(4, incarnation: 2)) == .failure(.notAMember(4)))
        #expect(three.applying(.rejoin(3, incarnation: 7)) == .failure(.incarnationUnchanged(3)))
        #expect(three.applying(.rejoin(3, incarnation: 0)) == .failure(.invalidIncarnation(3)))
        #expect(three.applying(.addLearner(4, incarnation: 0)) == .failure(.invalidIncarnation(4)))
        let rejoined = try three.applying(.rejoin(3, incarnation: 8)).get()
        #expect(rejoined.voters == [1, 2])
        #expect(rejoined.learners == [3])
        #expect(rejoined.incarnation(of: 3) == 8)
        let removed = try rejoined.applying(.remove(3)).get()
        #expect(removed.incarnation(of: 3) == nil)
        let alone = Configuration(voters: [1])
        #expect(alone.applying(.rejoin(1, incarnation: 2)) == .failure(.lastVoter(1)))
    }
}
