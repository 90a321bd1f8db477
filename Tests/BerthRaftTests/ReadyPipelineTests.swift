import Testing

@testable import BerthRaft

/// The owner's half of the Ready contract (`ReadyPipeline`): order of send, write and apply,
/// and what may leave while a write is under way (a slow disk must not silence a leader).
@Suite struct ReadyPipelineTests {
    /// Records what the pipeline asks for; writes stay pending until `complete()`.
    final class RecordingOwner: ReadyOwner {
        enum Event: Equatable {
            case send([Message])
            case write
            case apply
        }
        var events: [Event] = []
        var storage: MemoryStorage
        var pending: Ready?
        var writesComplete = false

        init(storage: MemoryStorage) { self.storage = storage }

        func send(_ messages: [Message]) { events.append(.send(messages)) }

        func write(_ ready: Ready) -> ReadyWrite {
            events.append(.write)
            guard ready.mustSync, !writesComplete else {
                persist(ready)
                return .done
            }
            pending = ready
            return .pending
        }

        func apply(_ ready: Ready) { events.append(.apply) }

        func persist(_ ready: Ready) {
            if let snapshot = ready.snapshot { storage.applySnapshot(snapshot) }
            if let hardState = ready.hardState { storage.setHardState(hardState) }
            storage.append(ready.entries)
        }

        /// Finishes the pending write.
        func complete(_ pipeline: ReadyPipeline) {
            guard let ready = pending else { return }
            pending = nil
            persist(ready)
            pipeline.writeCompleted()
        }

        var sent: [Message] {
            events.flatMap { if case .send(let messages) = $0 { return messages } else { return [] } }
        }
    }

    /// A node of a 3-voter cluster with its pipeline; not wired to any peer.
    private func single(
        _ id: NodeID = 1, configure: (inout RaftConfig) -> Void = { _ in }
    ) -> (RaftNode, ReadyPipeline, RecordingOwner) {
        let storage = MemoryStorage(configuration: Configuration(voters: [1, 2, 3]))
        var config = RaftConfig(id: id, randomSeed: 7)
        config.preVote = false
        configure(&config)
        let node = RaftNode(config: config, storage: storage)
        let owner = RecordingOwner(storage: storage)
        return (node, ReadyPipeline(node: node, owner: owner), owner)
    }

    /// Makes `node` leader by granting it the votes of 2 and 3.
    private func elect(_ node: RaftNode, _ pipeline: ReadyPipeline, _ owner: RecordingOwner) {
        owner.writesComplete = true
        node.campaign()
        pipeline.run()
        for voter: NodeID in [2, 3] {
            node.step(
                Message(
                    from: voter, to: 1, term: node.status.term,
                    body: .requestVoteResponse(RequestVoteResponse(granted: true, preVote: false))))
        }
        pipeline.run()
        // Both followers hold the new leader's first entry: they are streamed to from now on.
        for voter: NodeID in [2, 3] {
            node.step(
                Message(
                    from: voter, to: 1, term: node.status.term,
                    body: .appendEntriesResponse(
                        AppendEntriesResponse(success: true, matchIndex: node.status.lastIndex))))
        }
        pipeline.run()
        owner.writesComplete = false
        owner.events = []
    }

    @Test("thesis §10.2.1: a steady leader's appends leave before its own write; it applies only after")
    func leaderSendsBeforeWriting() throws {
        let (node, pipeline, owner) = single()
        elect(node, pipeline, owner)
        #expect(node.status.role == .leader)
        try node.propose(Array("x".utf8))
        pipeline.run()
        #expect(owner.events.first.map { if case .send = $0 { true } else { false } } == true)
        #expect(owner.events.dropFirst().first == .write)
        #expect(pipeline.isWriting)
        #expect(!owner.events.contains(.apply))
        owner.complete(pipeline)
        #expect(owner.events.last == .apply)
        #expect(!pipeline.isWriting)
    }

    @Test(
        "thesis §10.2.1: a newly elected leader's first appends leave before its own write (its term and vote are durable)"
    )
    func newLeaderSendsFirst() {
        let (node, pipeline, owner) = single()
        owner.writesComplete = true
        node.campaign()
        pipeline.run()
        owner.writesComplete = false
        owner.events = []
        for voter: NodeID in [2, 3] {
            node.step(
                Message(
                    from: voter, to: 1, term: node.status.term,
                    body: .requestVoteResponse(RequestVoteResponse(granted: true, preVote: false))))
        }
        pipeline.run()
        #expect(node.status.role == .leader)
        guard case .send(let messages)? = owner.events.first else {
            Issue.record("the new leader wrote before sending: \(owner.events)")
            return
        }
        #expect(messages.contains { if case .appendEntries = $0.body { true } else { false } })
        #expect(owner.events.dropFirst().first == .write)
    }

    @Test("a candidate's RequestVotes leave before its vote is written; it wins only once that write is durable")
    func candidateSendsVotesFirstButWinsAfterWrite() {
        let (node, pipeline, owner) = single()
        node.campaign()
        pipeline.run()
        // The requests went out before the write of the new term and vote finished.
        guard case .send(let requests)? = owner.events.first else {
            Issue.record("the candidate wrote before asking for votes: \(owner.events)")
            return
        }
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { if case .requestVote(let r) = $0.body { !r.preVote } else { false } })
        #expect(owner.events.dropFirst().first == .write)
        #expect(pipeline.isWriting)
        // One other grants while the candidate's own vote is still being written: with its own,
        // that is a majority, but its own could still be lost.
        let term = node.status.term
        node.step(
            Message(
                from: 2, to: 1, term: term,
                body: .requestVoteResponse(RequestVoteResponse(granted: true, preVote: false))))
        pipeline.run()
        #expect(node.status.role == .candidate, "won on a vote it could still forget")
        // A crash now loses the vote: the restarted node is in the old term and may vote for a
        // rival in this one, which is only safe because it never led.
        owner.complete(pipeline)
        #expect(node.status.role == .leader)
        #expect(node.status.term == term)
    }

    @Test("a majority of the others' (durable) votes wins at once: no rival can gather a majority in that term")
    func candidateWinsOnOthersVotes() {
        let (node, pipeline, owner) = single()
        node.campaign()
        pipeline.run()
        #expect(pipeline.isWriting)
        for voter: NodeID in [2, 3] {
            node.step(
                Message(
                    from: voter, to: 1, term: node.status.term,
                    body: .requestVoteResponse(RequestVoteResponse(granted: true, preVote: false))))
        }
        // Even if this server forgets its own vote, 2 and 3 voted for it in this term, durably.
        #expect(node.status.role == .leader)
        pipeline.run()
        owner.complete(pipeline)
        #expect(node.status.role == .leader)
    }

    @Test("a candidate's other messages (acknowledgements of entries in the same write) still wait for it")
    func candidateAcknowledgementsWait() {
        let (node, pipeline, owner) = single()
        node.step(
            Message(
                from: 2, to: 1, term: 1,
                body: .appendEntries(
                    AppendEntries(
                        prevIndex: 0, prevTerm: 0, entries: [Entry(term: 1, index: 1, payload: .empty)], commit: 0))))
        node.campaign()
        pipeline.run()
        let early = owner.sent
        #expect(!early.contains { if case .appendEntriesResponse = $0.body { true } else { false } })
        owner.complete(pipeline)
        #expect(owner.sent.contains { if case .appendEntriesResponse = $0.body { true } else { false } })
    }

    @Test("a leader whose write hangs keeps heartbeating; what is proposed meanwhile waits for the next Ready")
    func leaderHeartbeatsDuringSlowWrite() throws {
        let (node, pipeline, owner) = single()
        elect(node, pipeline, owner)
        try node.propose(Array("slow".utf8))
        pipeline.run()
        #expect(pipeline.isWriting)
        owner.events = []
        // Thirty ticks (three election timeouts) pass with the write still in flight; the
        // followers answer every heartbeat, so CheckQuorum is satisfied.
        for _ in 0..<30 {
            node.tick()
            pipeline.run()
            for follower: NodeID in [2, 3] {
                node.step(
                    Message(
                        from: follower, to: 1, term: node.status.term, body: .heartbeatResponse(HeartbeatResponse())))
            }
            pipeline.run()
        }
        let heartbeats = owner.sent.filter { if case .heartbeat = $0.body { true } else { false } }
        #expect(heartbeats.count >= 50)
        #expect(node.status.role == .leader)
        // A proposal during the write rides the next Ready with everything else proposed
        // meanwhile (group commit), and leaves before that Ready's own write.
        try node.propose(Array("meanwhile".utf8))
        pipeline.run()
        func carries(_ text: String) -> Bool {
            owner.sent.contains { message in
                if case .appendEntries(let append) = message.body {
                    return append.entries.contains { $0.payload == .command(Array(text.utf8)) }
                }
                return false
            }
        }
        #expect(!carries("meanwhile"))
        #expect(!owner.events.contains(.apply))
        owner.complete(pipeline)
        #expect(carries("meanwhile"))
    }

    @Test("§5.2: a vote granted while a write is under way waits for the next write")
    func voteWaitsForItsWrite() {
        let (node, pipeline, owner) = single(1)
        // A follower starts writing something (its first hard state after a heartbeat in term 2).
        node.step(Message(from: 2, to: 1, term: 2, body: .heartbeat(Heartbeat(commit: 0))))
        pipeline.run()
        #expect(pipeline.isWriting)
        owner.events = []
        // Node 3 asks for its vote in term 3 (a transfer, so the leader lease does not apply).
        node.step(
            Message(
                from: 3, to: 1, term: 3,
                body: .requestVote(RequestVote(lastIndex: 0, lastTerm: 0, leadershipTransfer: true))))
        pipeline.run()
        #expect(
            !owner.sent.contains { if case .requestVoteResponse = $0.body { true } else { false } },
            "the vote left before it was durable")
        owner.complete(pipeline)
        // The next Ready carries the vote with its hard state; it leaves after that write.
        #expect(pipeline.isWriting)
        #expect(!owner.sent.contains { if case .requestVoteResponse = $0.body { true } else { false } })
        owner.complete(pipeline)
        #expect(owner.sent.contains { if case .requestVoteResponse = $0.body { true } else { false } })
    }

    @Test("a follower answers heartbeats of its durable term while a write is under way")
    func followerAnswersHeartbeatsDuringWrite() throws {
        let (node, pipeline, owner) = single(1)
        node.step(Message(from: 2, to: 1, term: 2, body: .heartbeat(Heartbeat(commit: 0))))
        pipeline.run()
        #expect(pipeline.isWriting)
        owner.events = []
        node.step(Message(from: 2, to: 1, term: 2, body: .heartbeat(Heartbeat(commit: 0, readRound: 5))))
        pipeline.run()
        #expect(owner.sent.map(\.body) == [.heartbeatResponse(HeartbeatResponse(readRound: 5))])
        // An append is acknowledged only once its entries are written.
        let entry = Entry(term: 2, index: 1, payload: .command([1]))
        node.step(
            Message(
                from: 2, to: 1, term: 2,
                body: .appendEntries(AppendEntries(prevIndex: 0, prevTerm: 0, entries: [entry], commit: 0))))
        pipeline.run()
        #expect(!owner.sent.contains { if case .appendEntriesResponse = $0.body { true } else { false } })
    }

    @Test("the broken owner of the simulator's own tests sends everything before its write")
    func brokenOwnerSendsFirst() {
        let (node, pipeline, owner) = single(1)
        pipeline.sendsEverythingBeforeWrite = true
        node.step(Message(from: 3, to: 1, term: 3, body: .requestVote(RequestVote(lastIndex: 0, lastTerm: 0))))
        pipeline.run()
        #expect(owner.events.first.map { if case .send = $0 { true } else { false } } == true)
        #expect(pipeline.isWriting)
    }
}
