import BerthRaft
import Testing

@testable import BerthServer

/// Waiting clients are matched to their own entry by (index, term).
@Suite("proposal waiters")
struct ProposalWaitersTests {
    @Test("a leader that reused an index tells each waiter the fate of its own entry")
    func reusedIndex() {
        var waiters = ProposalWaiters<String>()
        // Term 2 proposed at index 7, leadership was lost, term 4 (the same node again) reused 7.
        waiters.add("term-2 write", for: ProposalTicket(index: 7, term: 2))
        waiters.add("term-4 write", for: ProposalTicket(index: 7, term: 4))
        let outcome = waiters.applied(index: 7, term: 4)
        #expect(outcome.committed == "term-4 write")
        #expect(outcome.replaced == ["term-2 write"])
        #expect(waiters.isEmpty)
    }

    @Test("an entry of another leader at the index completes nobody and fails the replaced waiter")
    func replacedByAnotherLeader() {
        var waiters = ProposalWaiters<String>()
        waiters.add("mine", for: ProposalTicket(index: 3, term: 1))
        let outcome = waiters.applied(index: 3, term: 2)
        #expect(outcome.committed == nil)
        #expect(outcome.replaced == ["mine"])
    }

    @Test("a deadline removes only its own ticket; a snapshot covers everything up to its index")
    func deadlineAndSnapshot() {
        var waiters = ProposalWaiters<String>()
        waiters.add("a", for: ProposalTicket(index: 5, term: 1))
        waiters.add("b", for: ProposalTicket(index: 5, term: 3))
        waiters.add("c", for: ProposalTicket(index: 9, term: 3))
        #expect(waiters.remove(ProposalTicket(index: 5, term: 2)) == nil)
        #expect(waiters.remove(ProposalTicket(index: 5, term: 1)) == "a")
        #expect(waiters.covered(upTo: 8) == ["b"])
        #expect(waiters.removeAll() == ["c"])
        #expect(waiters.isEmpty)
    }
}
