import Testing

@testable import BerthRaft

/// Leadership transfer (thesis §3.10).
@Suite struct LeaderTransferTests {
    @Test("thesis §3.10: the target is brought up to date, told TimeoutNow, and wins at once")
    func transferSucceeds() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].propose("x")
        cluster.settle()
        try cluster[1].transferLeadership(to: 3)
        cluster.settle()
        #expect(cluster[3].status.role == .leader)
        #expect(cluster[1].status.role == .follower)
        #expect(cluster[1].status.leader == 3)
        #expect(cluster.transferAborts[1, default: []].isEmpty)
    }

    @Test("thesis §3.10: a lost TimeoutNow is sent again at the next heartbeat, so a caught-up target still takes over")
    func lostTimeoutNowResent() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].propose("x")
        cluster.settle()
        var dropped = 0
        cluster.intercept = { message in
            if case .timeoutNow = message.body, dropped == 0 {
                dropped += 1
                return false
            }
            return true
        }
        try cluster[1].transferLeadership(to: 3)
        cluster.settle()
        #expect(dropped == 1)
        #expect(cluster[3].status.role != .leader)
        cluster.tick(2, only: [1])
        #expect(cluster[3].status.role == .leader)
        #expect(cluster.transferAborts[1, default: []].isEmpty)
    }

    @Test("thesis §3.10: a lagging target is caught up first")
    func laggingTargetCaughtUp() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        for i in 0..<10 { try cluster[1].propose("l\(i)") }
        cluster.settle()
        cluster.heal()
        try cluster[1].transferLeadership(to: 3)
        cluster.settle()
        cluster.tick(2)
        #expect(cluster[3].status.role == .leader)
        #expect(cluster.commands(on: 3).count == 10)
    }

    @Test("thesis §3.10: proposals are refused while a transfer is under way")
    func proposalsRefusedDuringTransfer() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        try cluster[1].transferLeadership(to: 3)
        #expect(throws: RaftError.transferInProgress(target: 3)) { try cluster[1].propose("no") }
    }

    @Test("thesis §3.10: a transfer that does not finish within an election timeout aborts with a reason")
    func transferTimesOut() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        cluster.isolate(3)
        try cluster[1].propose("behind")
        cluster.settle()
        try cluster[1].transferLeadership(to: 3)
        cluster.tick(12, only: [1, 2])
        let abort = try #require(cluster.transferAborts[1]?.first)
        #expect(abort.target == 3)
        #expect(abort.reason == .timedOut(targetMatch: 1, leaderLast: 2))
        #expect(cluster[1].status.role == .leader)
        #expect(cluster[1].status.transferTarget == .none)
        // Proposals flow again.
        _ = try cluster[1].propose("again")
    }

    @Test("thesis §3.10: transfer to an unknown node or to itself fails at once")
    func invalidTargets() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        #expect(throws: RaftError.invalidTransferTarget(9)) { try cluster[1].transferLeadership(to: 9) }
        #expect(throws: RaftError.invalidTransferTarget(1)) { try cluster[1].transferLeadership(to: 1) }
        #expect(throws: RaftError.notLeader(leaderHint: 1)) { try cluster[2].transferLeadership(to: 3) }
    }
}
