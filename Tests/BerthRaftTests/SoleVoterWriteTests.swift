import Testing

@testable import BerthRaft

/// A sole voter (a cluster founded by `bootstrap()` while the others join as learners) has every
/// vote it needs the moment it campaigns: its own. It must not lead on it before the write of
/// its new term and vote is durable, or a crash that loses that write lets the same server lead
/// the same term again with other entries at the same indices (§5.3: an index and term name one
/// entry). So it wins only at `advance()` of that write, and its first entry comes after.
@Suite struct SoleVoterWriteTests {
    private func soleVoter(_ storage: MemoryStorage) -> (RaftNode, ReadyPipeline, ReadyPipelineTests.RecordingOwner) {
        let node = RaftNode(config: RaftConfig(id: 1, randomSeed: 7), storage: storage)
        let owner = ReadyPipelineTests.RecordingOwner(storage: storage)
        return (node, ReadyPipeline(node: node, owner: owner), owner)
    }

    @Test("a sole voter leads only once its new term and vote are durable, and sends no entry of the term before")
    func noEntryLeavesBeforeTheTermIsDurable() throws {
        let storage = MemoryStorage(configuration: Configuration(voters: [1], learners: [2]))
        let (node, pipeline, owner) = soleVoter(storage)
        node.campaign()
        #expect(node.status.role == .candidate, "led on a vote not yet written")
        pipeline.run()
        #expect(pipeline.isWriting)
        node.tick()
        pipeline.run()
        #expect(throws: RaftError.self) { try node.propose(Array("x".utf8)) }
        let term = node.status.term
        #expect(storage.hardState.term < term)
        let early = owner.sent.filter { if case .appendEntries = $0.body { true } else { false } }
        #expect(early.isEmpty, "entries of term \(term) sent before the term was durable")
        owner.complete(pipeline)
        #expect(node.status.role == .leader)
        #expect(storage.hardState.term == term && storage.hardState.vote == 1)
        try node.propose(Array("x".utf8))
        pipeline.run()
    }

    @Test("§5.3: after a crash that loses that write, the learner is never sent two entries with one index and term")
    func noTwoEntriesWithOneIndexAndTerm() throws {
        let storage = MemoryStorage(configuration: Configuration(voters: [1], learners: [2]))
        let (first, firstPipeline, firstOwner) = soleVoter(storage)
        first.campaign()
        firstPipeline.run()
        first.tick()
        firstPipeline.run()
        // It cannot lead yet: its vote is in the write under way.
        #expect(first.status.role == .candidate)
        #expect(throws: RaftError.self) { try first.propose(Array("x".utf8)) }
        first.step(
            Message(from: 2, to: 1, term: first.status.term, body: .heartbeatResponse(HeartbeatResponse())))
        firstPipeline.run()
        // The power goes: the write in flight (term, vote, entries) is lost.
        let (second, secondPipeline, secondOwner) = soleVoter(storage.copy())
        secondOwner.writesComplete = true
        second.campaign()
        secondPipeline.run()
        try second.propose(Array("y".utf8))
        second.step(
            Message(from: 2, to: 1, term: second.status.term, body: .heartbeatResponse(HeartbeatResponse())))
        secondPipeline.run()
        var seen: [[UInt64]: EntryPayload] = [:]
        for message in firstOwner.sent + secondOwner.sent {
            guard case .appendEntries(let append) = message.body else { continue }
            for entry in append.entries {
                let key = [entry.index, entry.term]
                if let known = seen[key] {
                    #expect(known == entry.payload, "index \(entry.index) term \(entry.term) sent as two entries")
                }
                seen[key] = entry.payload
            }
        }
    }
}
