import Testing

@testable import BerthRaft

/// Incarnations keep a wiped member's votes and acknowledgements from counting. Messages a
/// leader sends (entries, heartbeats, snapshots) count toward nothing, and a follower whose
/// membership predates a member's re-admission can learn of it only from that leader's log.
@Suite struct RejoinLivenessTests {
    @Test("a follower whose membership predates a rejoin catches up from the rejoined member once it leads")
    func staleFollowerFollowsRejoinedLeader() throws {
        let cluster = TestCluster(voters: [1, 2, 3, 4, 5])
        cluster.elect(1)
        try cluster[1].propose("before")
        cluster.settle()
        // Node 1 compacts, so a node that loses its disk learns the membership from a snapshot.
        let applied = cluster[1].status.applied
        cluster.storages[1]!.compact(
            snapshotAt: applied, configuration: cluster[1].status.configuration, data: [])
        // Node 5 is away while node 2 loses its disk, is re-admitted and promoted.
        cluster.isolate(5)
        cluster.wipe(2, incarnation: 9)
        cluster.tick(2)
        try cluster[1].proposeConfigChange(.rejoin(2, incarnation: 9))
        cluster.settle()
        cluster.tick(3)
        try cluster[1].proposeConfigChange(.promote(2))
        cluster.settle()
        cluster.tick(3)
        #expect(cluster[1].status.configuration.voters == [1, 2, 3, 4, 5])
        #expect(cluster[1].status.configuration.incarnation(of: 2) == 9)
        // Node 2 takes over and commits an entry with 1, 3 and 4.
        try cluster[1].transferLeadership(to: 2)
        cluster.tick(5)
        try #require(cluster.leaders == [2])
        try cluster[2].propose("after")
        cluster.settle()
        // Node 5 comes back: its membership still records node 2 as incarnation 1.
        #expect(cluster[5].status.configuration.incarnation(of: 2) == .initial)
        cluster.heal()
        cluster.tick(20)
        #expect(cluster.leaders == [2])
        #expect(cluster.commands(on: 5) == ["before", "after"])
        #expect(cluster[5].status.configuration.incarnation(of: 2) == 9)
    }
}
