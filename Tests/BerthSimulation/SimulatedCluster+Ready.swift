import BerthRaft

/// How the simulated owner carries out each node's `Ready`, exactly in the order documented on
/// `Ready`: persist (snapshot, hard state, entries) → send → apply (snapshot, committed entries,
/// reads) → `advance()`. A Ready that must be synced is written for `persistDelay` first; a
/// crash in that window loses all of it. Everything the core hands out is checked on the way:
/// what it asks to write must fit the disk, what it asks to apply must already be on it.
extension SimulatedCluster {
    /// Hands out the node's Ready if it has one and is not already writing one. A Ready that
    /// needs no disk write is carried out at once; otherwise the write takes `persistDelay`.
    func collectReady(from node: SimulatedNode) {
        guard node.mayHaveReady else { return }
        var rounds = 0
        // Bounded: a core that always has another Ready must not stall the clock.
        while let raft = node.raft, node.pendingWrite == nil, violation == nil, rounds < 4 {
            node.mayHaveReady = false
            guard raft.hasReady else { return }
            rounds += 1
            let ready = raft.ready()
            if ready.mustSync {
                node.pendingWrite = SimulatedNode.PendingWrite(
                    ready: ready, dueAt: now + rng.time(in: options.persistDelay),
                    messagesSent: options.sendsBeforePersisting)
                if options.sendsBeforePersisting {
                    for message in ready.messages { send(message, from: node) }
                }
                return
            }
            carryOut(ready, on: node, messagesSent: false)
        }
    }

    /// The node's write became durable: carry out the rest of its Ready.
    func completeWrite(on node: SimulatedNode) {
        guard let write = node.pendingWrite else { return }
        node.pendingWrite = nil
        carryOut(write.ready, on: node, messagesSent: write.messagesSent)
    }

    /// The `Ready` contract, step by step: persist, send, apply, advance.
    private func carryOut(_ ready: Ready, on node: SimulatedNode, messagesSent: Bool) {
        guard let raft = node.raft else { return }
        guard persist(ready, on: node) else { return }
        if !messagesSent {
            for message in ready.messages { send(message, from: node) }
        }
        if let snapshot = ready.snapshot {
            guard restore(snapshot, on: node) else { return }
        }
        for entry in ready.committedEntries {
            guard apply(entry, on: node) else { return }
        }
        for state in ready.readStates {
            guard let read = node.pendingReads.removeValue(forKey: state.id) else {
                checkers.fail(.readyContract, "n\(node.id) confirmed read \(state.id), which it was not asked for")
                return
            }
            node.confirmedReads.append((state, read))
        }
        for readID in ready.failedReads {
            guard let read = node.pendingReads.removeValue(forKey: readID) else {
                checkers.fail(.readyContract, "n\(node.id) failed read \(readID), which it was not asked for")
                return
            }
            stats.readsFailed += 1
            outcomes.append(.readFailed(client: read.client, read: readID, node: node.id))
            record(.readFailed(client: read.client, read: readID, node: node.id))
        }
        serveReads(on: node)
        if let abort = ready.transferAborted {
            stats.transfersAborted += 1
            record(.transferAborted(node: node.id, target: abort.target, reason: "\(abort.reason)"))
        }
        raft.advance()
        observe(node)
        compactIfDue(node)
    }

    /// Step 1: snapshot, hard state, entries — refusing (as a violation) anything the disk
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

    /// Step 3a: replace the state machine with the leader's snapshot.
    private func restore(_ snapshot: Snapshot, on node: SimulatedNode) -> Bool {
        let index = snapshot.metadata.index
        guard index > node.stateMachine.appliedIndex else {
            checkers.fail(
                .stateMachineSafety,
                "n\(node.id) was asked to restore snapshot \(index) over applied index "
                    + "\(node.stateMachine.appliedIndex)")
            return false
        }
        guard let machine = OpStateMachine(snapshot: snapshot) else {
            checkers.fail(.readyContract, "n\(node.id) received a snapshot at \(index) that does not decode")
            return false
        }
        node.stateMachine = machine
        checkers.nodeRestoredSnapshot(
            node.id, index: index, term: snapshot.metadata.term, digest: machine.digest,
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

    /// Step 3b: apply one committed entry, which must be the next one and on this node's disk.
    private func apply(_ entry: Entry, on node: SimulatedNode) -> Bool {
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
            record(
                .configurationApplied(
                    index: entry.index, voters: configuration.voters.sorted(),
                    learners: configuration.learners.sorted()))
        case .applied, .noOp, .configuration:
            break
        }
        if let proposal = node.waitingProposals.removeValue(forKey: entry.index), let op = proposal.op {
            if entry.term == proposal.ticket.term {
                guard entry.payload == .command(ClientOp.encode(op)) else {
                    checkers.fail(
                        .logMatching,
                        "n\(node.id) promised op \(op) at index \(entry.index) term \(entry.term) "
                            + "but applied \(entry.payload) there")
                    return false
                }
                checkers.operationAcknowledged(op, node: node.id, index: entry.index, stateMachine: node.stateMachine)
                stats.acknowledged += 1
                outcomes.append(.acknowledged(client: proposal.client, op: op, node: node.id, index: entry.index))
                record(.acknowledged(client: proposal.client, op: op, node: node.id, index: entry.index))
            } else {
                lose(proposal, at: node, announce: true)
            }
        }
        return violation == nil
    }

    /// Step 3c: serve reads whose index the state machine has reached.
    private func serveReads(on node: SimulatedNode) {
        guard !node.confirmedReads.isEmpty else { return }
        let applied = node.stateMachine.appliedIndex
        var waiting: [(state: ReadState, read: SimulatedNode.PendingRead)] = []
        for (state, read) in node.confirmedReads {
            guard state.index <= applied else {
                waiting.append((state, read))
                continue
            }
            checkers.readServed(read, node: node.id, stateMachine: node.stateMachine)
            stats.readsServed += 1
            outcomes.append(.readServed(client: read.client, read: read.id, node: node.id, applied: applied))
            record(.readServed(client: read.client, read: read.id, node: node.id, index: state.index, applied: applied))
        }
        node.confirmedReads = waiting
    }

    /// Snapshots the state machine once it is `snapshotEveryEntries` past the last snapshot.
    private func compactIfDue(_ node: SimulatedNode) {
        let applied = node.stateMachine.appliedIndex
        guard applied >= node.snapshotIndex + options.snapshotEveryEntries else { return }
        node.storage.compact(
            snapshotAt: applied, configuration: node.stateMachine.configuration, data: node.stateMachine.encoded(),
            retainEntries: options.retainEntries)
        stats.compactions += 1
        record(.compacted(node: node.id, index: applied))
    }

    func wait(for proposal: SimulatedNode.WaitingProposal, on node: SimulatedNode) {
        // A leader re-using an index means whatever waited there was truncated away.
        if let replaced = node.waitingProposals[proposal.ticket.index] { lose(replaced, at: node, announce: true) }
        node.waitingProposals[proposal.ticket.index] = proposal
    }

    func lose(_ proposal: SimulatedNode.WaitingProposal, at node: SimulatedNode, announce: Bool) {
        guard let op = proposal.op else { return }
        stats.proposalsLost += 1
        outcomes.append(.proposalLost(client: proposal.client, op: op, node: node.id))
        if announce {
            record(.proposalLost(client: proposal.client, op: op, node: node.id, ticket: proposal.ticket))
        }
    }
}
