import Testing

@testable import BerthRaft

/// Single-server membership changes (thesis §4.1–§4.2).
@Suite struct MembershipTests {
    @Test("thesis §4.2.1: a learner receives the log but does not count toward commitment")
    func learnerDoesNotCount() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].proposeConfigChange(.addLearner(4, incarnation: .initial))
        cluster.settle()
        cluster.add(4, storage: MemoryStorage(configuration: Configuration(voters: [1, 2, 3])))
        cluster.tick(2)
        #expect(cluster[1].status.configuration.learners == [4])
        try cluster[1].propose("for-all")
        cluster.settle()
        #expect(cluster.commands(on: 4) == ["for-all"])
        // With two voters down, the learner's acknowledgement does not make a majority.
        cluster.isolate(2)
        cluster.isolate(3)
        let ticket = try cluster[1].propose("needs-majority")
        cluster.settle()
        #expect(cluster[1].status.commit < ticket.index)
    }

    @Test("thesis §4.2.1: a learner never starts an election")
    func learnerDoesNotCampaign() {
        let cluster = TestCluster(voters: [1, 2, 3], learners: [4])
        cluster.tick(50, only: [4])
        #expect(cluster[4].status.role == .follower)
        #expect(cluster[4].status.term == 0)
    }

    @Test("thesis §4.1: a caught-up learner is promoted and then counts toward the majority")
    func promoteCaughtUpLearner() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].proposeConfigChange(.addLearner(4, incarnation: .initial))
        cluster.settle()
        cluster.add(4, storage: MemoryStorage(configuration: Configuration(voters: [1, 2, 3])))
        cluster.tick(2)
        try cluster[1].proposeConfigChange(.promote(4))
        cluster.settle()
        #expect(cluster[1].status.configuration.voters == [1, 2, 3, 4])
        #expect(cluster[4].status.configuration.voters == [1, 2, 3, 4])
        // Four voters: a majority is three. With 2 and 3 down, 1 and 4 cannot commit.
        cluster.isolate(2)
        cluster.isolate(3)
        let ticket = try cluster[1].propose("two-of-four")
        cluster.settle()
        #expect(cluster[1].status.commit < ticket.index)
    }

    @Test("thesis §4.1: a learner far behind is not promoted")
    func laggingLearnerNotPromoted() throws {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.promotionMaxLagEntries = 4 }
        cluster.elect(1)
        try cluster[1].proposeConfigChange(.addLearner(4, incarnation: .initial))
        cluster.settle()
        for i in 0..<10 { try cluster[1].propose("p\(i)") }
        cluster.settle()
        #expect(throws: RaftError.learnerNotCaughtUp(node: 4, match: 0, leaderLast: 12)) {
            try cluster[1].proposeConfigChange(.promote(4))
        }
    }

    @Test("thesis §4.1: only one membership change at a time")
    func oneChangeAtATime() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(2)
        cluster.isolate(3)
        let first = try cluster[1].proposeConfigChange(.addLearner(4, incarnation: .initial))
        #expect(throws: RaftError.configChangeInProgress(index: first.index)) {
            try cluster[1].proposeConfigChange(.addLearner(5, incarnation: .initial))
        }
    }

    @Test("thesis §4.1: an invalid change is refused with the reason")
    func invalidChangeRefused() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        #expect(throws: RaftError.invalidConfigChange(.alreadyMember(2))) {
            try cluster[1].proposeConfigChange(.addLearner(2, incarnation: .initial))
        }
        #expect(throws: RaftError.invalidConfigChange(.notALearner(2))) {
            try cluster[1].proposeConfigChange(.promote(2))
        }
        #expect(throws: RaftError.invalidConfigChange(.notAMember(7))) {
            try cluster[1].proposeConfigChange(.remove(7))
        }
    }

    @Test("thesis §4.2.2: a leader that removes itself steps down after the change commits")
    func leaderRemovesItself() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].proposeConfigChange(.remove(1))
        cluster.settle()
        #expect(cluster[1].status.role == .follower)
        #expect(cluster[2].status.configuration.voters == [2, 3])
        // The remaining two elect a leader; the removed server never campaigns.
        cluster.remove(1)
        cluster.tick(40)
        #expect(cluster.leaders.count == 1)
        let newLeader = try #require(cluster.leaders.first)
        try cluster[newLeader].propose("after-removal")
        cluster.settle()
        #expect(cluster.commands(on: 2).last == "after-removal")
    }

    @Test("thesis §4.1: removing a follower shrinks the majority")
    func removeFollower() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].proposeConfigChange(.remove(3))
        cluster.settle()
        cluster.isolate(3)
        try cluster[1].propose("two-voters")
        cluster.settle()
        #expect(cluster.commands(on: 2) == ["two-voters"])
        #expect(cluster[1].status.progress[3] == nil)
    }

    @Test("Configuration.applying returns a new value and leaves the old one unchanged")
    func configurationIsValue() throws {
        let old = Configuration(voters: [1, 2, 3])
        let new = try old.applying(.addLearner(4, incarnation: .initial)).get()
        #expect(old.learners.isEmpty)
        #expect(new.learners == [4])
        #expect(old.applying(.remove(1)).map(\.voters) == .success([2, 3]))
        #expect(Configuration(voters: [1]).applying(.remove(1)) == .failure(.lastVoter(1)))
    }
}

@Suite struct LearnerPromotionTests {
    @Test("thesis §4.2.1: a learner that never answered is not promoted, even when the log is short")
    func silentLearnerNotPromoted() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].proposeConfigChange(.addLearner(4, incarnation: .initial))
        cluster.settle()
        #expect(throws: RaftError.learnerNotCaughtUp(node: 4, match: 0, leaderLast: 2)) {
            try cluster[1].proposeConfigChange(.promote(4))
        }
    }
}
