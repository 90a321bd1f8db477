extension RaftNode {
    func tickLeader() {
        heartbeatElapsed += 1
        electionElapsed += 1
        if electionElapsed >= config.electionTicks {
            electionElapsed = 0
            if config.checkQuorum && !quorumActive() {
                // CheckQuorum (thesis §6.2): a leader cut off from a majority steps down, so
                // clients stop waiting on it and its reads cannot go stale.
                becomeFollower(term: term, leader: .none)
                return
            }
            if transferTarget != .none {
                let targetMatch = progress[transferTarget]?.match ?? 0
                abortTransfer(.timedOut(targetMatch: targetMatch, leaderLast: log.lastIndex))
            }
        }
        for peer in progress.keys.sorted() where progress[peer]?.state == .snapshot {
            progress[peer]?.snapshotTicks += 1
            if let ticks = progress[peer]?.snapshotTicks, ticks >= config.snapshotRetryTicks {
                // Neither the follower nor the transport confirmed the snapshot: try again.
                progress[peer]?.pendingSnapshot = 0
                progress[peer]?.becomeProbe()
            }
        }
        if heartbeatElapsed >= config.heartbeatTicks {
            heartbeatElapsed = 0
            broadcastHeartbeat()
        }
    }

    /// Whether a majority of voters (this leader included) was heard from since the last round;
    /// starts the next round.
    private func quorumActive() -> Bool {
        var active = 0
        for voter in configuration.voters.sorted() {
            if voter == id || progress[voter]?.recentActive == true { active += 1 }
        }
        for peer in progress.keys.sorted() where peer != id {
            progress[peer]?.recentActive = false
        }
        return active >= configuration.quorum
    }

    func stepLeader(_ message: Message) {
        guard progress[message.from] != nil else { return }
        progress[message.from]?.recentActive = true
        switch message.body {
        case .appendEntriesResponse(let response):
            handleAppendResponse(response, from: message.from)
        case .heartbeatResponse(let response):
            handleHeartbeatResponse(response, from: message.from)
        case .appendEntries, .heartbeat, .installSnapshot, .requestVote, .requestVoteResponse, .timeoutNow:
            // Another leader in our own term cannot exist (§5.2); stale vote answers are moot.
            break
        }
    }

    private func handleAppendResponse(_ response: AppendEntriesResponse, from peer: NodeID) {
        guard var peerProgress = progress[peer] else { return }
        if !response.success {
            let hint = backtrackHint(for: response)
            // Conflict term 0 with an index means "my log ends just before conflictIndex".
            let followerLast =
                response.conflictTerm == 0 && response.conflictIndex > 0 ? response.conflictIndex - 1 : nil
            if peerProgress.maybeDecrease(rejected: response.matchIndex, hint: hint, followerLast: followerLast) {
                progress[peer] = peerProgress
                sendAppend(to: peer)
            }
            return
        }
        guard response.matchIndex <= log.lastIndex else {
            // Acknowledging entries this leader never had: not a correct follower.
            refuse(from: peer, "acknowledged index \(response.matchIndex) past the leader's log end \(log.lastIndex)")
            return
        }
        let wasPaused = peerProgress.isPaused
        // A stale or duplicate answer tells us nothing new.
        guard peerProgress.maybeUpdate(response.matchIndex) else { return }
        switch peerProgress.state {
        case .probe:
            peerProgress.becomeReplicate()
        case .snapshot where peerProgress.match >= peerProgress.pendingSnapshot:
            peerProgress.becomeProbe()
            peerProgress.becomeReplicate()
        case .replicate:
            peerProgress.inflights.free(upTo: response.matchIndex)
        case .snapshot:
            break
        }
        progress[peer] = peerProgress
        if maybeCommit() {
            broadcastAppend()
        } else if wasPaused || peerProgress.next <= log.lastIndex {
            sendAppend(to: peer)
        }
        if peer == transferTarget, peerProgress.match == log.lastIndex {
            // The target is caught up: tell it to start an election now (thesis §3.10).
            send(to: peer, .timeoutNow)
        }
    }

    /// Where to resume after a rejection: skip the follower's whole conflicting term when we
    /// hold entries of that term, otherwise jump to the follower's first index of it.
    private func backtrackHint(for response: AppendEntriesResponse) -> LogIndex {
        guard response.conflictTerm > 0 else { return response.conflictIndex }
        var index = min(response.matchIndex, log.lastIndex)
        while index >= log.firstIndex, let entryTerm = log.term(at: index), entryTerm > response.conflictTerm {
            index -= 1
        }
        if index >= log.firstIndex, log.term(at: index) == response.conflictTerm {
            return index + 1
        }
        return response.conflictIndex
    }

    private func handleHeartbeatResponse(_ response: HeartbeatResponse, from peer: NodeID) {
        guard var peerProgress = progress[peer] else { return }
        peerProgress.probeSent = false
        if peerProgress.state == .replicate && peerProgress.inflights.isFull {
            // Acknowledgements may have been lost; let one more message out.
            peerProgress.inflights.freeFirst()
        }
        progress[peer] = peerProgress
        if peerProgress.match < log.lastIndex {
            sendAppend(to: peer)
        } else if peer == transferTarget {
            // The target holds everything but has not taken over yet: its TimeoutNow may have
            // been lost. Say it again each heartbeat round, or the transfer would time out with
            // a target that had every entry (and its late election would cost a leaderless gap).
            send(to: peer, .timeoutNow)
        }
        let confirmed = reads.acknowledge(
            round: response.readRound, from: peer, quorum: configuration.quorum, voters: configuration.voters)
        readStates.append(contentsOf: confirmed)
    }

    /// Advances the commit index to the highest index stored on a majority of voters, but only
    /// for an entry of the current term (§5.4.2; Figure 8 shows why). Returns whether it moved.
    @discardableResult
    func maybeCommit() -> Bool {
        let matches = configuration.voters.map { progress[$0]?.match ?? 0 }.sorted(by: >)
        guard matches.count >= configuration.quorum else { return false }
        let majorityIndex = matches[configuration.quorum - 1]
        guard majorityIndex > log.committed, log.term(at: majorityIndex) == term else { return false }
        let firstOfTerm = log.term(at: log.committed) != term
        log.advanceCommit(to: majorityIndex)
        if firstOfTerm {
            // The commit index is now trustworthy: reads that waited for it can proceed (§6.4).
            for readID in reads.takeDeferred() { confirmRead(readID) }
        }
        return true
    }

    /// Starts the quorum confirmation of a read at the current commit index (thesis §6.4).
    func confirmRead(_ readID: UInt64) {
        if configuration.voters == [id] {
            readStates.append(ReadState(id: readID, index: log.committed))
            return
        }
        let round = reads.add(id: readID, index: log.committed, leader: id)
        for voter in configuration.voters.sorted() where voter != id {
            sendHeartbeat(to: voter, readRound: round)
        }
    }

    func failAllReads() {
        failedReads.append(contentsOf: reads.failAll())
    }

    // MARK: - Sending

    func broadcastAppend() {
        for peer in progress.keys.sorted() where peer != id {
            sendAppend(to: peer)
        }
    }

    private func broadcastHeartbeat() {
        for peer in progress.keys.sorted() where peer != id {
            sendHeartbeat(to: peer, readRound: reads.latestRound)
        }
    }

    private func sendHeartbeat(to peer: NodeID, readRound: UInt64) {
        // Never tell a follower to commit past what it is known to hold.
        let commit = min(progress[peer]?.match ?? 0, log.committed)
        send(to: peer, .heartbeat(Heartbeat(commit: commit, readRound: readRound)))
    }

    /// Sends the next batch of entries to `peer` if its progress allows, or a snapshot when the
    /// entries it needs were compacted (§7).
    func sendAppend(to peer: NodeID) {
        guard var peerProgress = progress[peer], !peerProgress.isPaused else { return }
        let prevIndex = peerProgress.next - 1
        guard let prevTerm = log.term(at: prevIndex),
            let entries = try? log.entries(
                from: peerProgress.next, to: log.lastIndex + 1, maxBytes: config.maxMessageBytes)
        else {
            sendSnapshot(to: peer)
            return
        }
        send(
            to: peer,
            .appendEntries(
                AppendEntries(prevIndex: prevIndex, prevTerm: prevTerm, entries: entries, commit: log.committed)))
        switch peerProgress.state {
        case .replicate:
            if let last = entries.last { peerProgress.optimisticallySent(through: last.index) }
        case .probe:
            peerProgress.probeSent = true
        case .snapshot:
            preconditionFailure("appending to a follower that awaits a snapshot")
        }
        progress[peer] = peerProgress
    }

    private func sendSnapshot(to peer: NodeID) {
        guard let snapshot = log.unstable.snapshot ?? (try? log.storage.snapshot()) else { return }
        progress[peer]?.becomeSnapshot(at: snapshot.metadata.index)
        send(to: peer, .installSnapshot(snapshot))
    }
}
