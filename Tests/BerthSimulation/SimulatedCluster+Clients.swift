import BerthRaft

/// Client requests, as a server takes them: writes are proposed by the leader or forwarded to
/// it over the simulated network; linearizable reads are confirmed by the leader's ReadIndex
/// round (asked over the network by a follower) and served once applied. The client ↔ node
/// link itself is reliable and instant; node ↔ node requests travel like Raft messages and are
/// never re-sent.
extension SimulatedCluster {
    /// A client write: an operation under the client's idempotency key (a retry reuses it), or
    /// a write without one (the node that takes it gives it an internal key).
    public enum ClientWrite: Equatable, Sendable {
        case keyed(UInt64)
        case keyless
    }

    /// Internal keys (operation ids a node gives keyless writes) have this bit set; client keys
    /// never do.
    static let internalKeyBit: UInt64 = 1 << 62

    // MARK: - Writes

    /// A client write at node `id`: proposed there if it leads; otherwise, with
    /// `Options.forwarding`, forwarded once to the leader it knows (if the forward or its answer
    /// is lost, the client hears `outcomeUnknown`); otherwise refused with the leader's id. A
    /// keyless write gets an internal key from this node, so nothing this node does can apply
    /// it twice — a client that retries it sends a new write, with a new key. Returns the
    /// operation id; the outcome comes through `takeOutcomes()`.
    public func submit(_ write: ClientWrite, at id: NodeID, client: Int) -> Result<UInt64, ClientError> {
        guard let node = node(id) else { return .failure(.unknownNode(id)) }
        guard let raft = node.raft, !node.isPaused(at: now) else { return .failure(.unavailable(id)) }
        let op: UInt64
        switch write {
        case .keyed(let key):
            op = key
        case .keyless:
            nextInternalKey += 1
            op = Self.internalKeyBit | nextInternalKey
        }
        history.invokeWrite(op, client: client, node: id, time: now)
        let status = raft.basicStatus
        guard status.role != .leader, options.forwarding, status.leader != .none, status.leader != id else {
            let result = propose(op: op, at: id, client: client).map { _ in op }
            if case .keyless = write {
                if case .success = result { stats.keylessWrites += 1 } else { history.writeFailed(op) }
            }
            return result
        }
        if case .keyless = write { stats.keylessWrites += 1 }
        nextForwardID += 1
        node.forwards[nextForwardID] = SimulatedNode.PendingForward(
            client: client, op: op, deadline: now + options.requestTimeout)
        stats.forwards += 1
        sendRequest(.forward(id: nextForwardID, client: client, op: op), from: node, to: status.leader)
        record(.forwarded(client: client, op: op, node: id, leader: status.leader))
        return .success(op)
    }

    /// Proposes client operation `op` at node `id` (no forwarding: a follower refuses). The node
    /// answers later through `takeOutcomes()`, once it applies the ticket's index.
    @discardableResult
    public func propose(op: UInt64, at id: NodeID, client: Int = 0) -> Result<ProposalTicket, ClientError> {
        guard let node = node(id) else { return .failure(.unknownNode(id)) }
        guard let raft = node.raft, !node.isPaused(at: now) else { return .failure(.unavailable(id)) }
        history.invokeWrite(op, client: client, node: id, time: now)
        do {
            let ticket = try raft.propose(ClientOp.encode(op))
            accepted(op, client: client, ticket: ticket, on: node, forwardedFrom: nil)
            return .success(ticket)
        } catch {
            // Refusals repeat while clients retry; only a new reason is worth a line in the
            // trace, and "not the leader" is routine while clients look for the leader.
            let reason = "\(error)"
            let isRoutine = if case .notLeader = error { true } else { false }
            if !isRoutine && node.lastRefusal != reason {
                node.lastRefusal = reason
                record(.proposalRefused(client: client, op: op, node: id, reason: reason))
            }
            return .failure(.refused(error))
        }
    }

    /// Proposes `op` at the current leader.
    @discardableResult
    public func propose(op: UInt64, client: Int = 0) -> Result<ProposalTicket, ClientError> {
        guard let leader else { return .failure(.noLeader) }
        return propose(op: op, at: leader, client: client)
    }

    private func accepted(
        _ op: UInt64, client: Int, ticket: ProposalTicket, on node: SimulatedNode,
        forwardedFrom origin: SimulatedNode.ForwardOrigin?
    ) {
        node.mayHaveReady = true
        stats.proposals += 1
        node.lastRefusal = nil
        wait(
            for: SimulatedNode.WaitingProposal(client: client, op: op, ticket: ticket, forwardedFrom: origin),
            on: node)
        record(.proposed(client: client, op: op, node: node.id, ticket: ticket))
    }

    // MARK: - Reads

    /// Asks node `id` for a linearizable read; returns the read id. The answer comes through
    /// `takeOutcomes()`. The leader confirms a read index with a quorum round; a follower asks
    /// the leader it knows for one over the network (`Options.followerReads`), then waits until
    /// it has applied that index. A frozen node finds the request in its inbox when it wakes up
    /// (and may still believe it leads — the case ReadIndex's quorum round exists for).
    public func read(at id: NodeID, client: Int = 0) -> Result<UInt64, ClientError> {
        guard let node = node(id) else { return .failure(.unknownNode(id)) }
        guard node.isUp else { return .failure(.unavailable(id)) }
        let read = SimulatedNode.PendingRead(client: client, id: nextReadID, issuedAt: now)
        if node.isPaused(at: now) {
            node.inbox.append(read)
        } else if let error = startRead(read, on: node) {
            return .failure(.refused(error))
        }
        history.invokeRead(read.id, client: client, node: id, time: now)
        nextReadID += 1
        stats.readsIssued += 1
        record(.readIssued(client: client, read: read.id, node: id))
        return .success(read.id)
    }

    /// Starts `read` on the node: a ReadIndex round of its own if it leads, a request to the
    /// leader otherwise; returns why it refused, if it did.
    private func startRead(_ read: SimulatedNode.PendingRead, on node: SimulatedNode) -> RaftError? {
        guard let raft = node.raft else { return .notLeader(leaderHint: .none) }
        let status = raft.basicStatus
        if status.role != .leader, options.followerReads, status.leader != .none, status.leader != node.id {
            node.remoteReads[read.id] = (read, now + options.requestTimeout)
            stats.followerReads += 1
            sendRequest(.readIndex(id: read.id), from: node, to: status.leader)
            return nil
        }
        do {
            try raft.readIndex(id: read.id)
        } catch {
            return error
        }
        node.mayHaveReady = true
        node.pendingReads[read.id] = read
        return nil
    }

    /// A node that just woke up answers the reads that arrived while it was frozen, before
    /// anything else reaches it.
    func drainInbox(of node: SimulatedNode) {
        let reads = node.inbox
        node.inbox = []
        for read in reads where startRead(read, on: node) != nil {
            failRead(read, on: node)
        }
    }

    func failRead(_ read: SimulatedNode.PendingRead, on node: SimulatedNode) {
        stats.readsFailed += 1
        history.readFailed(read.id)
        outcomes.append(.readFailed(client: read.client, read: read.id, node: node.id))
        record(.readFailed(client: read.client, read: read.id, node: node.id))
    }

    /// Serves confirmed reads whose index the node has applied (thesis §6.4), from its state
    /// store, which is never behind the core's applied index.
    func serveReads(on node: SimulatedNode) {
        guard !node.confirmedReads.isEmpty else { return }
        let applied = node.coreApplied
        var waiting: [(state: ReadState, read: SimulatedNode.PendingRead)] = []
        for (state, read) in node.confirmedReads {
            guard state.index <= applied else {
                waiting.append((state, read))
                continue
            }
            history.readReturned(
                read.id, length: node.stateMachine.ops.count, digest: node.stateMachine.opsDigest, time: now)
            stats.readsServed += 1
            outcomes.append(
                .readServed(client: read.client, read: read.id, node: node.id, applied: node.stateMachine.appliedIndex))
            record(
                .readServed(
                    client: read.client, read: read.id, node: node.id, index: state.index,
                    applied: node.stateMachine.appliedIndex))
        }
        node.confirmedReads = waiting
    }

    // MARK: - Between nodes

    func sendRequest(_ request: NodeRequest, from node: SimulatedNode, to target: NodeID) {
        guard let receiver = self.node(target) else { return }
        network.send(request, from: node.id, to: target, now: now, senderLife: node.life, targetLife: receiver.life)
    }

    /// A node-to-node request arrives (or is dropped at a cut link or a dead node).
    func deliver(_ request: NodeRequest, from: NodeID, to: NodeID, _ flight: SimulatedNetwork.InFlight) {
        guard let node = node(to) else { return }
        guard node.isUp, node.life == flight.targetLife, !network.isBlocked(from: from, to: to) else {
            stats.messagesDropped += 1
            return
        }
        if node.isPaused(at: now) {
            network.requeue(flight, at: node.pausedUntil + rng.time(in: 0...2))
            return
        }
        switch request {
        case .forward(let id, let client, let op):
            takeForward(id: id, client: client, op: op, from: from, on: node)
        case .forwardAnswer(let id, let outcome):
            guard let forward = node.forwards.removeValue(forKey: id) else { return }  // timed out already
            switch outcome {
            case .applied(let index):
                acknowledge(forward.op, client: forward.client, at: index, on: node)
            case .refused(let error):
                stats.forwardsRefused += 1
                if forward.op & Self.internalKeyBit != 0 { history.writeFailed(forward.op) }
                outcomes.append(.writeFailed(client: forward.client, op: forward.op, node: node.id, reason: error))
            case .unknown:
                stats.outcomesUnknown += 1
                outcomes.append(.outcomeUnknown(client: forward.client, op: forward.op, node: node.id))
            }
        case .readIndex(let id):
            takeReadIndexRequest(id: id, from: from, on: node)
        case .readIndexAnswer(let id, let index):
            guard let (read, _) = node.remoteReads.removeValue(forKey: id) else { return }
            guard let index else {
                failRead(read, on: node)
                return
            }
            // The leader confirmed `index`: serve once this node has applied it (thesis §6.4).
            node.confirmedReads.append((ReadState(id: id, index: index), read))
            serveReads(on: node)
        }
    }

    /// The leader's side of a forward: propose, and answer when the entry applies (or not).
    private func takeForward(id: UInt64, client: Int, op: UInt64, from: NodeID, on node: SimulatedNode) {
        guard let raft = node.raft else { return }
        do {
            let ticket = try raft.propose(ClientOp.encode(op))
            accepted(op, client: client, ticket: ticket, on: node, forwardedFrom: .init(node: from, id: id))
        } catch {
            sendRequest(.forwardAnswer(id: id, outcome: .refused(error)), from: node, to: from)
        }
    }

    /// The leader's side of a follower's read: a ReadIndex round under an id of its own; the
    /// confirmed index (or the failure) goes back when the core hands it out.
    private func takeReadIndexRequest(id: UInt64, from: NodeID, on node: SimulatedNode) {
        guard let raft = node.raft else { return }
        nextRemoteReadID += 1
        let own = Self.internalKeyBit | nextRemoteReadID
        do {
            try raft.readIndex(id: own)
        } catch {
            sendRequest(.readIndexAnswer(id: id, index: nil), from: node, to: from)
            return
        }
        node.readIndexRequests[own] = .init(node: from, id: id)
        node.mayHaveReady = true
    }

    /// Tells the clients of forwards and follower reads that waited too long: a forward's
    /// outcome is unknown (it is never re-sent), a read failed.
    func expireRequests(on node: SimulatedNode) {
        for id in node.forwards.keys.sorted() where node.forwards[id]!.deadline <= now {
            let forward = node.forwards.removeValue(forKey: id)!
            stats.outcomesUnknown += 1
            outcomes.append(.outcomeUnknown(client: forward.client, op: forward.op, node: node.id))
            record(.outcomeUnknown(client: forward.client, op: forward.op, node: node.id))
        }
        for id in node.remoteReads.keys.sorted() where node.remoteReads[id]!.deadline <= now {
            let (read, _) = node.remoteReads.removeValue(forKey: id)!
            failRead(read, on: node)
        }
    }

    /// `op`, applied at `index`, is acknowledged to its client by `node`.
    func acknowledge(_ op: UInt64, client: Int, at index: LogIndex, on node: SimulatedNode) {
        stats.acknowledged += 1
        history.writeAcknowledged(op, time: now)
        outcomes.append(.acknowledged(client: client, op: op, node: node.id, index: index))
        record(.acknowledged(client: client, op: op, node: node.id, index: index))
    }
}
