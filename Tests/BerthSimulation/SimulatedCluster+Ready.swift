import BerthRaft

/// One simulated server's half of the `Ready` contract. The order of send, write, apply and
/// `advance()` is not decided here: `ReadyPipeline` decides it, the same code the server's Raft
/// loop runs, so the simulator proves the path production takes. This owner only carries out
/// what the pipeline asks for, on the simulated disk, network and state machine.
final class SimulatedOwner: ReadyOwner {
    unowned let cluster: SimulatedCluster
    unowned let node: SimulatedNode

    init(cluster: SimulatedCluster, node: SimulatedNode) {
        self.cluster = cluster
        self.node = node
    }

    func send(_ messages: [Message]) { cluster.ownerSends(messages, from: node) }
    func write(_ ready: Ready) -> ReadyWrite { cluster.ownerWrites(ready, on: node) }
    func apply(_ ready: Ready) { cluster.ownerApplies(ready, on: node) }
}

/// How the simulated owner carries out what `ReadyPipeline` asks: a write that needs an fsync
/// takes `persistDelay` and a crash in that window loses it; one that only moves the commit
/// index is written at once, as the server's log does (etcd's MustSync). Everything the core
/// hands out is checked on the way: what it asks to write must fit the disk, what it asks to
/// apply must already be on it, and every message must promise only what is durable.
extension SimulatedCluster {
    /// Runs the node's pipeline if its core may have work (after ticks, messages, proposals,
    /// reads: the server's "drain" task after whatever was queued).
    func drive(_ node: SimulatedNode) {
        guard node.mayHaveReady, violation == nil, let pipeline = node.pipeline else { return }
        node.mayHaveReady = false
        pipeline.run()
        afterReadys(node)
    }

    /// The node's write became durable: persist it and let the pipeline finish its Ready.
    func completeWrite(on node: SimulatedNode) {
        guard let write = node.pendingWrite, let pipeline = node.pipeline else { return }
        node.pendingWrite = nil
        guard persist(write.ready, on: node) else { return }
        // The fsync made everything written before it durable too.
        node.syncedCommit = node.storage.hardState.commit
        node.unsyncedCommits = []
        pipeline.writeCompleted()
        afterReadys(node)
    }

    /// What the server's loop does after its Readys: note role changes, then compact the log
    /// if it is due and no write holds the log.
    private func afterReadys(_ node: SimulatedNode) {
        // The pipeline stops at a write in flight, or once the core has nothing more (or after
        // `maxReadys`, when it may still have something).
        observe(node, mayHaveWork: node.pendingWrite == nil && node.raft?.hasReady == true)
        if node.pendingWrite == nil { compactIfDue(node) }
    }

    // MARK: - The three effects

    /// `ReadyOwner.send`: checks that each message promises only what is on disk, then hands
    /// the messages to the network.
    func ownerSends(_ messages: [Message], from node: SimulatedNode) {
        node.lastSentBatch = (messages.count, messages.first)
        guard violation == nil else { return }
        if checkers.checksPromises { checkPromises(of: messages, from: node) }
        for message in messages {
            if case .installSnapshot(let snapshot) = message.body, snapshot.data.isEmpty, snapshot.metadata.index > 0 {
                send(withCopy(message, snapshot, from: node), from: node)
            } else {
                send(message, from: node)
            }
        }
    }

    /// A snapshot without data goes out with a copy of the sender's state store as it is now
    /// (the server's peer link asks for one when it sends), which may be newer than the
    /// snapshot's index; the follower skips the applies it already holds.
    private func withCopy(_ message: Message, _ snapshot: Snapshot, from node: SimulatedNode) -> Message {
        guard node.stateMachine.appliedIndex >= snapshot.metadata.index else {
            checkers.fail(
                .durability,
                "n\(node.id)'s state store is at \(node.stateMachine.appliedIndex), behind the snapshot at "
                    + "\(snapshot.metadata.index) it must send")
            return message
        }
        var copy = snapshot
        copy.data = node.stateMachine.encoded()
        if node.stateMachine.appliedIndex > snapshot.metadata.index { stats.newerSnapshotCopies += 1 }
        var sent = message
        sent.body = .installSnapshot(copy)
        return sent
    }

    /// `ReadyOwner.write`: starts the write; only an fsync takes time.
    func ownerWrites(_ ready: Ready, on node: SimulatedNode) -> ReadyWrite {
        let sentFirst =
            !ready.messages.isEmpty && node.lastSentBatch.count == ready.messages.count
            && node.lastSentBatch.first == ready.messages.first
        node.lastSentBatch = (0, nil)
        guard violation == nil else {
            // Stop here: nothing more happens on a cluster that broke an invariant.
            node.pendingWrite = SimulatedNode.PendingWrite(ready: ready, dueAt: .max, messagesSentFirst: sentFirst)
            return .pending
        }
        if needsSync(ready, on: node) {
            node.pendingWrite = SimulatedNode.PendingWrite(
                ready: ready, dueAt: now + rng.time(in: options.persistDelay), messagesSentFirst: sentFirst)
            return .pending
        }
        _ = persist(ready, on: node)
        if let hardState = ready.hardState { node.unsyncedCommits.append(hardState.commit) }
        return .done
    }

    /// `ReadyOwner.apply`: the snapshot, the committed entries, the reads, the aborted transfer.
    func ownerApplies(_ ready: Ready, on node: SimulatedNode) {
        guard violation == nil else { return }
        let storeBefore = node.stateMachine.appliedIndex
        if let snapshot = ready.snapshot {
            guard restore(snapshot, on: node) else { return }
            node.coreApplied = snapshot.metadata.index
        }
        for entry in ready.committedEntries {
            guard apply(entry, on: node) else { return }
            node.coreApplied = entry.index
        }
        // One transaction of the state store per Ready, as the server applies them.
        if options.tornWrites && (ready.snapshot != nil || node.stateMachine.appliedIndex != storeBefore) {
            node.storeTransactions.append(node.stateMachine)
        }
        for state in ready.readStates {
            if let read = node.pendingReads.removeValue(forKey: state.id) {
                node.confirmedReads.append((state, read))
            } else if let origin = node.readIndexRequests.removeValue(forKey: state.id) {
                sendRequest(.readIndexAnswer(id: origin.id, index: state.index), from: node, to: origin.node)
            } else {
                checkers.fail(.readyContract, "n\(node.id) confirmed read \(state.id), which it was not asked for")
                return
            }
        }
        for readID in ready.failedReads {
            if let read = node.pendingReads.removeValue(forKey: readID) {
                failRead(read, on: node)
            } else if let origin = node.readIndexRequests.removeValue(forKey: readID) {
                sendRequest(.readIndexAnswer(id: origin.id, index: nil), from: node, to: origin.node)
            } else {
                checkers.fail(.readyContract, "n\(node.id) failed read \(readID), which it was not asked for")
                return
            }
        }
        serveReads(on: node)
        if let abort = ready.transferAborted {
            stats.transfersAborted += 1
            record(.transferAborted(node: node.id, target: abort.target, reason: "\(abort.reason)"))
        }
    }

    // MARK: - Writing

    /// Whether the write needs an fsync, by the server log's rule: a new snapshot, entries, or
    /// a new term or vote. A hard state that only moves the commit index does not.
    private func needsSync(_ ready: Ready, on node: SimulatedNode) -> Bool {
        if let snapshot = ready.snapshot, snapshot.metadata.index > node.snapshotIndex { return true }
        if !ready.entries.isEmpty { return true }
        guard let hardState = ready.hardState else { return false }
        let durable = node.storage.hardState
        return hardState.term != durable.term || hardState.vote != durable.vote
    }

    /// Persists snapshot, hard state, entries — refusing (as a violation) anything the disk
    /// cannot take, rather than trapping in `MemoryStorage`.
    private func persist(_ ready: Ready, on node: SimulatedNode) -> Bool {
        let storage = node.storage
        if let snapshot = ready.snapshot {
            storage.applySnapshot(snapshot)
        }
        if let hardState = ready.hardState {
            checkers.nodePersistsHardState(node.id, old: storage.hardState, new: hardState)
            storage.setHardState(hardState)
        }
        if let first = ready.entries.first {
            let snapshotIndex = node.snapshotIndex
            guard first.index > snapshotIndex, first.index <= storage.lastIndex + 1 else {
                checkers.fail(
                    .readyContract,
                    "n\(node.id) was asked to write entries from \(first.index) onto a disk holding "
                        + "snapshot \(snapshotIndex) and entries to \(storage.lastIndex)")
                return false
            }
            for (offset, entry) in ready.entries.enumerated() where entry.index != first.index + LogIndex(offset) {
                checkers.fail(.readyContract, "n\(node.id) was asked to write non-contiguous entries at \(entry.index)")
                return false
            }
            storage.append(ready.entries)
            guard let previousTerm = try? storage.term(at: first.index - 1) else {
                checkers.fail(.readyContract, "n\(node.id) lost the term of index \(first.index - 1)")
                return false
            }
            checkers.nodePersistedEntries(node.id, ready.entries, previousTerm: previousTerm)
            checkers.nodePersistedLog(node.id, entries: ready.entries, storage: storage)
        }
        if storage.hardState.commit > storage.lastIndex {
            checkers.fail(
                .readyContract,
                "n\(node.id) persisted commit \(storage.hardState.commit) past its log's end \(storage.lastIndex)")
        }
        return violation == nil
    }

    /// Every message promises something about the sender's disk; it may leave only once that
    /// is durable (§5, Figure 2: "updated on stable storage before responding to RPCs"). A
    /// granted vote promises the vote, an acknowledgement the entries through its match index,
    /// and any message of term T the term itself. (Pre-)vote requests promise nothing, nor do heartbeats
    /// and their answers (they carry no log, and the core lets them out during a write). A
    /// durable term past the message's supersedes its promise: one Ready may carry a vote in
    /// term 3 and the term 4 the node moved to since, and it never goes back to term 3.
    private func checkPromises(of messages: [Message], from node: SimulatedNode) {
        let disk = node.storage
        let durable = disk.hardState
        let inFlight = node.pendingWrite?.ready
        for message in messages where message.term >= durable.term {
            switch message.body {
            case .heartbeat, .heartbeatResponse:
                continue
            case .requestVote:
                // Neither a pre-vote nor a candidate's request promises anything: a candidate
                // counts its own vote only once durable (`RaftNode.ownVoteIsDurable`), which the
                // election-safety checker holds it to.
                continue
            case .requestVoteResponse(let response) where response.preVote:
                continue
            case .requestVoteResponse(let response) where response.granted:
                if durable.term != message.term || durable.vote != message.to {
                    checkers.fail(
                        .readyContract,
                        "n\(node.id) sent its vote for n\(message.to) in term \(message.term) before it was durable "
                            + "(disk: term \(durable.term), vote n\(durable.vote))")
                    return
                }
            case .appendEntriesResponse(let response) where response.success:
                let unwritten = min(
                    inFlight?.entries.first?.index ?? .max, inFlight?.snapshot?.metadata.index ?? .max)
                if response.matchIndex > disk.lastIndex || response.matchIndex >= unwritten {
                    checkers.fail(
                        .readyContract,
                        "n\(node.id) acknowledged index \(response.matchIndex) to n\(message.to) before it was durable "
                            + "(disk to \(disk.lastIndex)" + (unwritten == .max ? "" : ", writing from \(unwritten)")
                            + ")")
                    return
                }
            default:
                break
            }
            if message.term > durable.term {
                checkers.fail(
                    .readyContract,
                    "n\(node.id) sent \(message.body.kind) to n\(message.to) in term \(message.term) before the term "
                        + "was durable (disk: term \(durable.term))")
                return
            }
        }
    }

    // MARK: - Applying

    /// Replaces the state store with the leader's snapshot (a copy of its state that may be
    /// newer than the snapshot's index; it replaces the store even when the store was newer
    /// still, as the server's restore does).
    private func restore(_ snapshot: Snapshot, on node: SimulatedNode) -> Bool {
        let index = snapshot.metadata.index
        guard index > node.coreApplied else {
            checkers.fail(
                .stateMachineSafety,
                "n\(node.id) was asked to restore snapshot \(index) over applied index \(node.coreApplied)")
            return false
        }
        guard let machine = OpStateMachine(snapshot: snapshot) else {
            checkers.fail(.readyContract, "n\(node.id) received a snapshot at \(index) that does not decode")
            return false
        }
        node.stateMachine = machine
        checkers.nodeRestoredSnapshot(
            node.id, index: machine.appliedIndex, term: machine.appliedTerm, digest: machine.digest,
            nodeTerm: node.storage.hardState.term)
        stats.snapshotsInstalled += 1
        record(.snapshotInstalled(node: node.id, index: index, term: snapshot.metadata.term))
        // Whatever waited on a skipped index has an unknown outcome now; its client retries.
        for waitingIndex in node.waitingProposals.keys.sorted() where waitingIndex <= index {
            if let proposal = node.waitingProposals.removeValue(forKey: waitingIndex) {
                lose(proposal, at: node, announce: true)
            }
        }
        return violation == nil
    }

    /// Applies one committed entry, which must be the next one and on this node's disk — or
    /// skips it when the store already holds it (a newer copy, or a store that survived a
    /// crash ahead of the log).
    private func apply(_ entry: Entry, on node: SimulatedNode) -> Bool {
        if entry.index <= node.stateMachine.appliedIndex {
            checkers.nodeSkipped(node.id, entry)
            stats.appliesSkipped += 1
            answerProposal(at: entry, on: node)
            return violation == nil
        }
        guard entry.index == node.stateMachine.appliedIndex + 1 else {
            checkers.fail(
                .stateMachineSafety,
                "n\(node.id) was handed index \(entry.index) to apply after \(node.stateMachine.appliedIndex)")
            return false
        }
        guard let held = try? node.storage.term(at: entry.index), held == entry.term else {
            checkers.fail(
                .readyContract,
                "n\(node.id) was handed index \(entry.index) term \(entry.term) to apply before it was on disk")
            return false
        }
        let effect = node.stateMachine.apply(entry)
        checkers.nodeApplied(node.id, entry, digest: node.stateMachine.digest, term: node.storage.hardState.term)
        switch effect {
        case .malformed:
            checkers.fail(.stateMachineSafety, "n\(node.id) applied a command that no client sent at \(entry.index)")
        case .duplicate:
            stats.duplicatesSkipped += 1
        case .configuration where entry.index > configurationAppliedAt:
            configurationAppliedAt = entry.index
            let configuration = node.stateMachine.configuration
            committedConfiguration = configuration
            // The membership every disk starts with is not news.
            if entry.index > initialLogLength {
                record(
                    .configurationApplied(
                        index: entry.index, voters: configuration.voters.sorted(),
                        learners: configuration.learners.sorted()))
            }
        case .applied, .noOp, .configuration:
            break
        }
        answerProposal(at: entry, on: node)
        return violation == nil
    }

    /// Tells the client waiting on `entry`'s index, if any: acknowledged when the entry is the
    /// one its proposal put there, lost (outcome unknown) when another took its place.
    private func answerProposal(at entry: Entry, on node: SimulatedNode) {
        if let proposal = node.waitingProposals.removeValue(forKey: entry.index), let op = proposal.op {
            if entry.term == proposal.ticket.term {
                guard entry.payload == .command(ClientOp.encode(op)) else {
                    checkers.fail(
                        .logMatching,
                        "n\(node.id) promised op \(op) at index \(entry.index) term \(entry.term) "
                            + "but applied \(entry.payload) there")
                    return
                }
                checkers.operationAcknowledged(op, node: node.id, index: entry.index, stateMachine: node.stateMachine)
                if let origin = proposal.forwardedFrom {
                    let answer = NodeRequest.forwardAnswer(id: origin.id, outcome: .applied(index: entry.index))
                    sendRequest(answer, from: node, to: origin.node)
                } else {
                    acknowledge(op, client: proposal.client, at: entry.index, on: node)
                }
            } else {
                lose(proposal, at: node, announce: true)
            }
        }
    }

    /// Compacts the log once the core's applied index is `snapshotEveryEntries` past the last
    /// snapshot, as the server does: the state store is synced first (so no crash can roll it
    /// back behind the snapshot), then the snapshot is written — without data when the store
    /// is the snapshot (`dataLessSnapshots`), else with the store's state — and the log is
    /// rewritten from it with the hard state (an fsync).
    private func compactIfDue(_ node: SimulatedNode) {
        let index = node.coreApplied
        guard index >= node.snapshotIndex + options.snapshotEveryEntries, index <= node.storage.lastIndex,
            let raft = node.raft
        else { return }
        let data: [UInt8]
        if options.dataLessSnapshots {
            data = []
        } else {
            guard node.stateMachine.appliedIndex == index else { return }
            data = node.stateMachine.encoded()
        }
        node.storeSynced = node.stateMachine
        node.storeTransactions = []
        node.storage.compact(
            snapshotAt: index, configuration: raft.status.configuration, data: data,
            retainEntries: options.retainEntries)
        node.syncedCommit = node.storage.hardState.commit
        node.unsyncedCommits = []
        stats.compactions += 1
        record(.compacted(node: node.id, index: index))
    }

    // MARK: - Power loss

    /// A crash that is a power loss: of what was written since the log's last fsync — the
    /// commit-only writes, then the records of the write in flight (snapshot, hard state,
    /// entries in order, as the WAL writes them) — any prefix is durable; and the state store
    /// rolls back to any transaction since its last sync.
    func losePower(on node: SimulatedNode) {
        let write = node.pendingWrite?.ready
        let snapshotRecords = write?.snapshot.map { $0.metadata.index > node.snapshotIndex ? 1 : 0 } ?? 0
        let writeRecords = snapshotRecords + (write?.hardState == nil ? 0 : 1) + (write?.entries.count ?? 0)
        let commitRecords = node.unsyncedCommits.count
        var kept = rng.int(in: 0...(commitRecords + writeRecords))
        if let write, write.hardState != nil, !write.entries.isEmpty, rng.chance(0.5) {
            // The most telling prefix: the hard state durable, none of the entries after it.
            kept = commitRecords + snapshotRecords + 1
        }
        if kept < commitRecords {
            var hardState = node.storage.hardState
            hardState.commit = kept == 0 ? node.syncedCommit : node.unsyncedCommits[kept - 1]
            node.storage.setHardState(hardState)
            stats.unsyncedCommitsLost += 1
        } else if let write, kept > commitRecords {
            persistPrefix(of: write, records: kept - commitRecords, on: node)
            if kept - commitRecords < writeRecords { stats.tornWrites += 1 }
            record(.tornWrite(node: node.id, keptRecords: kept - commitRecords, records: writeRecords))
        }
        let states = [node.storeSynced] + node.storeTransactions
        let survivor = rng.element(of: states)
        if survivor.appliedIndex < node.stateMachine.appliedIndex {
            stats.storeRollbacks += 1
            record(
                .storeRolledBack(
                    node: node.id, from: node.stateMachine.appliedIndex, to: survivor.appliedIndex))
        }
        node.stateMachine = survivor
    }

    /// Persists the first `records` records of `ready` (snapshot, hard state, entries).
    private func persistPrefix(of ready: Ready, records: Int, on node: SimulatedNode) {
        let storage = node.storage
        var remaining = records
        if let snapshot = ready.snapshot, snapshot.metadata.index > node.snapshotIndex, remaining > 0 {
            storage.applySnapshot(snapshot)
            remaining -= 1
        }
        if let hardState = ready.hardState, remaining > 0 {
            checkers.nodePersistsHardState(node.id, old: storage.hardState, new: hardState)
            storage.setHardState(hardState)
            remaining -= 1
        }
        let entries = Array(ready.entries.prefix(remaining))
        guard let first = entries.first, first.index > node.snapshotIndex, first.index <= storage.lastIndex + 1
        else { return }
        storage.append(entries)
        if let previousTerm = try? storage.term(at: first.index - 1) {
            checkers.nodePersistedEntries(node.id, entries, previousTerm: previousTerm)
        }
    }

    func wait(for proposal: SimulatedNode.WaitingProposal, on node: SimulatedNode) {
        // A leader re-using an index means whatever waited there was truncated away.
        if let replaced = node.waitingProposals[proposal.ticket.index] { lose(replaced, at: node, announce: true) }
        node.waitingProposals[proposal.ticket.index] = proposal
    }

    func lose(_ proposal: SimulatedNode.WaitingProposal, at node: SimulatedNode, announce: Bool) {
        guard let op = proposal.op else { return }
        stats.proposalsLost += 1
        if let origin = proposal.forwardedFrom {
            sendRequest(.forwardAnswer(id: origin.id, outcome: .unknown), from: node, to: origin.node)
        } else {
            outcomes.append(.proposalLost(client: proposal.client, op: op, node: node.id))
        }
        if announce {
            record(.proposalLost(client: proposal.client, op: op, node: node.id, ticket: proposal.ticket))
        }
    }
}

extension MessageBody {
    /// The kind of message, for violation reports.
    var kind: String {
        switch self {
        case .appendEntries: return "AppendEntries"
        case .appendEntriesResponse: return "an AppendEntries answer"
        case .heartbeat: return "a heartbeat"
        case .heartbeatResponse: return "a heartbeat answer"
        case .requestVote: return "RequestVote"
        case .requestVoteResponse: return "a vote answer"
        case .installSnapshot: return "InstallSnapshot"
        case .timeoutNow: return "TimeoutNow"
        }
    }
}
