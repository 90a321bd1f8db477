import Testing

@testable import BerthWire

/// `WireMessage.senseProblem`: well-framed messages whose values do not fit together.
@Suite struct SenseTests {
    private func append(prevIndex: UInt64 = 4, prevTerm: UInt64 = 2, term: UInt64 = 3, _ entries: [(UInt64, UInt64)])
        -> WireMessage
    {
        WireMessage(
            from: 1, to: 2, term: term,
            body: .appendEntries(
                WireAppendEntries(
                    prevIndex: prevIndex, prevTerm: prevTerm,
                    entries: entries.map { WireEntry(term: $0.1, index: $0.0, payload: .empty) }, commit: 4)))
    }

    @Test("an append whose entries follow prevIndex with non-decreasing terms up to the message's makes sense")
    func sensibleAppend() {
        #expect(append([(5, 2), (6, 3), (7, 3)]).senseProblem == nil)
        #expect(append([]).senseProblem == nil)
    }

    @Test("gaps, repeats, terms going backwards or past the message's term do not")
    func nonsenseAppends() {
        #expect(append([(6, 3)]).senseProblem != nil, "gap after prevIndex")
        #expect(append([(5, 2), (5, 2)]).senseProblem != nil, "repeated index")
        #expect(append([(5, 3), (6, 2)]).senseProblem != nil, "term going backwards")
        #expect(append([(5, 1)]).senseProblem != nil, "below prevTerm")
        #expect(append([(5, 4)]).senseProblem != nil, "past the message's term")
        #expect(append(prevTerm: 9, []).senseProblem != nil, "prevTerm past the message's term")
        #expect(append(prevIndex: .max, prevTerm: 2, [(0, 2)]).senseProblem != nil, "index overflow")
    }

    @Test("an empty snapshot, a snapshot at index 0, or one with no voter makes no sense")
    func nonsenseSnapshots() {
        func snapshot(index: UInt64 = 9, term: UInt64 = 2, voters: Set<UInt64> = [1, 2], data: [UInt8] = [1])
            -> WireMessage
        {
            WireMessage(
                from: 1, to: 2, term: 3,
                body: .installSnapshot(
                    WireSnapshot(
                        metadata: WireSnapshotMetadata(
                            index: index, term: term, configuration: WireConfiguration(voters: voters)),
                        data: data)))
        }
        #expect(snapshot().senseProblem == nil)
        #expect(snapshot(data: []).senseProblem != nil)
        #expect(snapshot(index: 0).senseProblem != nil)
        #expect(snapshot(term: 4).senseProblem != nil)
        #expect(snapshot(voters: []).senseProblem != nil)
    }

    @Test("a vote request whose last term is past its own term makes no sense")
    func nonsenseVote() {
        let vote = { (lastTerm: UInt64) in
            WireMessage(from: 2, to: 1, term: 5, body: .requestVote(WireRequestVote(lastIndex: 3, lastTerm: lastTerm)))
        }
        #expect(vote(5).senseProblem == nil)
        #expect(vote(6).senseProblem != nil)
    }
}
