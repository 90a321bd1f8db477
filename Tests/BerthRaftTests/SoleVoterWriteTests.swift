import Testing

@testable import BerthRaft

/// A sole voter (a cluster founded by `bootstrap()` while the others join as learners) wins an
/// election within one call: its new term and vote, and its first entry, are in the very Ready
/// it then writes. Nothing of that term may leave before that Ready is durable, or a crash that
/// loses it lets the same server lead the same term again with other entries at the same
/// indices (§5.3: an index and term name one entry).
@Suite struct SoleVoterWriteTests {
    private func soleVoter(_ storage: MemoryStorage) -> (RaftNode, ReadyPipeline, ReadyPipelineTests.RecordingOwner) {
        let node = RaftNode(config: RaftConfig(id: 1, randomSeed: 7), storage: storage)
        let owner = ReadyPipelineTests.RecordingOwner(storage: storage)
        return (node, ReadyPipeline(node: node, owner: owner), owner)
    }

    @Test("a sole voter sends no entry of its new term while the write of that term is under way")
    func noEntryLeavesBeforeTheTermIsDurable() throws {
        let storage = MemoryStorage(configuration: Configuration(voters: [1], learners: [2]))
        let (node, pipeline, owner) = soleVoter(storage)
        node.campaign()
        #expect(node.status.role == .leader)
        pipeline.run()
        #expect(pipeline.isWriting)
        node.tick()
        pipeline.run()
        try node.propose(Array("x".utf8))
        node.step(Message(from: 2, to: 1, term: node.status.term, body: .heartbeatResponse(HeartbeatResponse())))
        pipeline.run()
        let term = node.status.term
        #expect(storage.hardState.term < term)
        // A heartbeat may leave (it promises nothing, and no other server can lead this term);
        // an entry of this term may not.
        let appends = owner.sent.filter { if case .appendEntries = $0.body { true } else { false } }
        #expect(appends.isEmpty, "entries of term \(term) sent before the term was durable")
    }

    @Test("§5.3: after a crash that loses that write, the learner is never sent two entries with one index and term")
    func noTwoEntriesWithOneIndexAndTerm() throws {
        let storage = MemoryStorage(configuration: Configuration(voters: [1], learners: [2]))
        let (first, firstPipeline, firstOwner) = soleVoter(storage)
        first.campaign()
        firstPipeline.run()
        first.tick()
        firstPipeline.run()
        try first.propose(Array("x".utf8))
        // The learner answers the heartbeat it was sent, so the leader streams the log to it.
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
