import Testing

@testable import BerthRaft

/// Proposal forwarding hooks and bounded queues: nothing is dropped silently.
@Suite struct ProposalTests {
    @Test("a follower refuses a proposal and names the leader, so the owner can forward it")
    func followerNamesLeader() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        #expect(throws: RaftError.notLeader(leaderHint: 1)) { try cluster[2].propose("fwd") }
    }

    @Test("with no leader known the refusal says so")
    func noLeader() {
        let cluster = TestCluster(voters: [1, 2, 3])
        #expect(throws: RaftError.notLeader(leaderHint: .none)) { try cluster[2].propose("none") }
    }

    @Test("proposals beyond maxPendingProposals uncommitted entries are refused with a typed error")
    func boundedQueue() throws {
        let cluster = TestCluster(voters: [1, 2, 3]) { $0.maxPendingProposals = 8 }
        cluster.elect(1)
        cluster.isolate(1)
        for i in 0..<8 { try cluster[1].propose("q\(i)") }
        #expect(throws: RaftError.tooManyPending(limit: 8)) { try cluster[1].propose("q8") }
        // Once the entries commit, the leader accepts again.
        cluster.heal()
        cluster.tick(2)
        _ = try cluster[1].propose("q9")
    }

    @Test("the default bound is 256 pending proposals")
    func defaultBound() {
        #expect(RaftConfig(id: 1, randomSeed: 0).maxPendingProposals == 256)
    }

    @Test("Ready order: entries to persist and the messages that depend on them come in one batch")
    func readyCarriesEntriesWithMessages() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        let ticket = try cluster[1].propose("x")
        let ready = cluster[1].ready()
        #expect(ready.entries.map(\.index) == [ticket.index])
        #expect(ready.messages.count == 2)
        #expect(ready.mustSync)
        // The leader does not count its own entry until advance() confirms it is durable.
        #expect(cluster[1].status.progress[1]?.match == ticket.index - 1)
        cluster.persist(ready, at: 1)
        cluster[1].advance()
        #expect(cluster[1].status.progress[1]?.match == ticket.index)
    }

    @Test("the same seed gives the same election timeouts (determinism)")
    func deterministic() {
        func firstElectionTick(seed: UInt64) -> Int {
            var config = RaftConfig(id: 1, randomSeed: seed)
            config.preVote = false
            let node = RaftNode(config: config, storage: MemoryStorage(configuration: Configuration(voters: [1, 2])))
            for tick in 1...100 {
                node.tick()
                if node.status.role == .candidate { return tick }
            }
            return -1
        }
        #expect(firstElectionTick(seed: 5) == firstElectionTick(seed: 5))
        let ticks = Set((0..<20).map { firstElectionTick(seed: $0) })
        #expect(ticks.count > 1)
        #expect(ticks.allSatisfy { (10..<20).contains($0) })
    }
}
