import Testing

@testable import BerthRaft

/// A peer cannot stop a node: messages no correct peer sends are dropped and counted, never
/// trapped on.
@Suite struct MisbehavingPeerTests {
    @Test("§5.4: an append that would rewrite committed entries changes nothing; the node stays")
    func rewriteOfCommittedLog() throws {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        try cluster[1].propose("kept")
        cluster.settle()
        let follower = cluster[2]
        let committed = follower.status.commit
        #expect(committed >= 2)
        let forged = Entry(term: 9, index: committed, payload: .command(Array("forged".utf8)))
        follower.step(
            Message(
                from: 3, to: 2, term: follower.status.term + 5,
                body: .appendEntries(
                    AppendEntries(
                        prevIndex: committed - 1, prevTerm: follower.status.term, entries: [forged], commit: 0))))
        // Everything up to the commit index already matches any correct leader: the append
        // is answered with the commit index and its entries are not looked at.
        #expect(follower.status.commit == committed)
        cluster.settle()
        #expect(cluster.commands(on: 2) == ["kept"])
    }

    @Test("§5.3: entries that do not follow prevIndex one by one are refused")
    func gappedEntries() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        let follower = cluster[2]
        let term = follower.status.term
        let last = follower.status.lastIndex
        follower.step(
            Message(
                from: 1, to: 2, term: term,
                body: .appendEntries(
                    AppendEntries(
                        prevIndex: last, prevTerm: term,
                        entries: [Entry(term: term, index: last + 2, payload: .empty)], commit: 0))))
        #expect(follower.status.refusedMessages == 1)
        #expect(follower.status.lastIndex == last)
    }

    @Test("a follower acknowledging entries the leader never had is ignored")
    func ackPastLeaderLog() {
        let cluster = TestCluster(voters: [1, 2, 3])
        cluster.elect(1)
        let leader = cluster[1]
        let commit = leader.status.commit
        leader.step(
            Message(
                from: 2, to: 1, term: leader.status.term,
                body: .appendEntriesResponse(AppendEntriesResponse(success: true, matchIndex: 1_000_000))))
        leader.step(
            Message(
                from: 3, to: 1, term: leader.status.term,
                body: .appendEntriesResponse(AppendEntriesResponse(success: true, matchIndex: 1_000_000))))
        #expect(leader.status.refusedMessages == 2)
        #expect(leader.status.commit == commit)
        #expect((leader.status.progress[2]?.match ?? 0) <= leader.status.lastIndex)
        cluster.settle()
        #expect(leader.status.role == .leader)
    }
}
