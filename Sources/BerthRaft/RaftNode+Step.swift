extension RaftNode {
    /// Delivers a message from a peer. Term rules common to every role run first (§5.1), then
    /// the role's own handler.
    public func step(_ message: Message) {
        guard message.to == id, message.from != id, message.from != .none else { return }
        if let admitted = configuration.incarnation(of: message.from), admitted != message.incarnation,
            !message.body.isSentByLeader
        {
            // A member that lost its disk forgot its votes and its log: whatever it says under
            // its new incarnation must not count as the member's until the cluster admits it
            // again (`ConfigChange.rejoin`), or a wiped follower could elect a leader that
            // lacks committed entries, or vote twice in one term.
            foreignIncarnations[message.from] = message.incarnation
            return
        }
        if message.term > term {
            if case .requestVote(let request) = message.body, !request.leadershipTransfer,
                config.checkQuorum, leader != .none, electionElapsed < config.electionTicks
            {
                // Leader lease (thesis §4.2.3, §9.6): while we hear from a leader, a server that
                // merely timed out must not depose it. Ignore without raising our term.
                return
            }
            switch message.body {
            case .requestVote(let request) where request.preVote:
                // A pre-vote changes nothing here; the candidate only asks.
                break
            case .requestVoteResponse(let response) where response.preVote && response.granted:
                // A granted pre-vote echoes the term we would campaign in; we have not moved to it yet.
                break
            case .appendEntries, .heartbeat, .installSnapshot:
                becomeFollower(term: message.term, leader: message.from)
            default:
                if role == .leader, message.from == transferTarget, case .requestVote = message.body {
                    // The transfer target is campaigning as asked: the hand-over worked.
                    transferTarget = .none
                }
                becomeFollower(term: message.term, leader: .none)
            }
        } else if message.term < term {
            switch message.body {
            case .appendEntries, .heartbeat:
                // Figure 2: answer with our term so a deposed leader steps down. With pre-vote and
                // leases, terms may not otherwise reach it (thesis §9.6).
                send(to: message.from, .appendEntriesResponse(AppendEntriesResponse(success: false, matchIndex: 0)))
            case .requestVote(let request) where request.preVote:
                send(to: message.from, .requestVoteResponse(RequestVoteResponse(granted: false, preVote: true)))
            default:
                break
            }
            return
        }

        if case .requestVote(let request) = message.body {
            handleVoteRequest(request, from: message.from, term: message.term)
            return
        }
        switch role {
        case .leader: stepLeader(message)
        case .candidate, .preCandidate: stepCandidate(message)
        case .follower: stepFollower(message)
        }
    }

    /// Drops a message no correct peer sends, and says so in the status: the owner logs it and
    /// may close the link. The node goes on.
    func refuse(from sender: NodeID, _ reason: String) {
        refusedMessages += 1
        lastRefusal = "from node \(sender): \(reason)"
    }

    /// Decides a vote or pre-vote (§5.2, §5.4.1, thesis §9.6).
    private func handleVoteRequest(_ request: RequestVote, from candidate: NodeID, term requestTerm: Term) {
        let canVote =
            vote == candidate
            || (vote == .none && leader == .none)
            || (request.preVote && requestTerm > term)
        let upToDate = log.isUpToDate(lastIndex: request.lastIndex, lastTerm: request.lastTerm)
        if canVote && upToDate {
            // A granted pre-vote answers in the candidate's future term so it is not ignored as stale.
            send(
                to: candidate, .requestVoteResponse(RequestVoteResponse(granted: true, preVote: request.preVote)),
                term: request.preVote ? requestTerm : term)
            if !request.preVote {
                // The vote is in the hard state of this Ready, persisted before the answer is sent.
                vote = candidate
                electionElapsed = 0
            }
        } else {
            send(to: candidate, .requestVoteResponse(RequestVoteResponse(granted: false, preVote: request.preVote)))
        }
    }

    private func stepFollower(_ message: Message) {
        switch message.body {
        case .appendEntries(let append):
            electionElapsed = 0
            leader = message.from
            handleAppendEntries(append, from: message.from)
        case .heartbeat(let heartbeat):
            electionElapsed = 0
            leader = message.from
            handleHeartbeat(heartbeat, from: message.from)
        case .installSnapshot(let snapshot):
            electionElapsed = 0
            leader = message.from
            handleSnapshot(snapshot, from: message.from)
        case .timeoutNow:
            // The leader asks us to take over (thesis §3.10): skip pre-vote and the lease.
            startElection(transfer: true)
        case .appendEntriesResponse, .heartbeatResponse, .requestVoteResponse, .requestVote:
            break
        }
    }

    private func stepCandidate(_ message: Message) {
        switch message.body {
        case .appendEntries(let append):
            // Someone won this term (§5.2).
            becomeFollower(term: term, leader: message.from)
            handleAppendEntries(append, from: message.from)
        case .heartbeat(let heartbeat):
            becomeFollower(term: term, leader: message.from)
            handleHeartbeat(heartbeat, from: message.from)
        case .installSnapshot(let snapshot):
            becomeFollower(term: term, leader: message.from)
            handleSnapshot(snapshot, from: message.from)
        case .requestVoteResponse(let response):
            guard response.preVote == (role == .preCandidate) else { return }
            recordVote(from: message.from, granted: response.granted)
        case .timeoutNow, .appendEntriesResponse, .heartbeatResponse, .requestVote:
            break
        }
    }

    // MARK: - Follower side of replication

    private func handleAppendEntries(_ append: AppendEntries, from sender: NodeID) {
        if append.prevIndex < log.committed {
            // Everything up to our commit index already matches the leader (§5.4).
            send(to: sender, .appendEntriesResponse(AppendEntriesResponse(success: true, matchIndex: log.committed)))
            return
        }
        switch log.maybeAppend(
            prevIndex: append.prevIndex, prevTerm: append.prevTerm, commit: append.commit, entries: append.entries)
        {
        case .appended(let lastNew, let firstWritten):
            if let written = firstWritten {
                // Entries from `written` on were replaced: their configuration entries go with them.
                pendingConfigIndices.removeAll { $0 >= written }
                notePendingConfigs(in: append.entries.filter { $0.index >= written })
            }
            send(to: sender, .appendEntriesResponse(AppendEntriesResponse(success: true, matchIndex: lastNew)))
        case .mismatch:
            send(to: sender, .appendEntriesResponse(rejection(of: append.prevIndex)))
        case .refused(let reason):
            refuse(from: sender, reason)
        }
    }

    /// The rejection of an AppendEntries at `prevIndex`, with hints that let the leader skip a
    /// whole conflicting term at once (§5.3, "fast backtracking").
    private func rejection(of prevIndex: LogIndex) -> AppendEntriesResponse {
        let last = log.lastIndex
        guard prevIndex <= last, let conflictTerm = log.term(at: prevIndex) else {
            return AppendEntriesResponse(
                success: false, matchIndex: prevIndex, conflictTerm: 0, conflictIndex: min(prevIndex, last + 1))
        }
        var first = prevIndex
        // Committed entries match the leader's, so the search never needs to pass the commit index.
        while first - 1 > log.committed, log.term(at: first - 1) == conflictTerm {
            first -= 1
        }
        return AppendEntriesResponse(
            success: false, matchIndex: prevIndex, conflictTerm: conflictTerm, conflictIndex: first)
    }

    private func handleHeartbeat(_ heartbeat: Heartbeat, from sender: NodeID) {
        if heartbeat.commit > log.lastIndex {
            // The leader believes we hold entries we do not (our data dir was wiped): say where
            // our log really ends, so it probes from there and sends a snapshot if it must.
            send(
                to: sender,
                .appendEntriesResponse(
                    AppendEntriesResponse(
                        success: false, matchIndex: heartbeat.commit, conflictTerm: 0,
                        conflictIndex: log.lastIndex + 1)))
        }
        log.advanceCommit(to: min(heartbeat.commit, log.lastIndex))
        send(to: sender, .heartbeatResponse(HeartbeatResponse(readRound: heartbeat.readRound)))
    }

    private func handleSnapshot(_ snapshot: Snapshot, from sender: NodeID) {
        let meta = snapshot.metadata
        if meta.index <= log.committed {
            send(to: sender, .appendEntriesResponse(AppendEntriesResponse(success: true, matchIndex: log.committed)))
            return
        }
        if log.matchTerm(meta.index, meta.term) {
            // We already hold the snapshot's last entry, so our log up to it matches: just commit.
            log.advanceCommit(to: meta.index)
        } else {
            log.restore(snapshot)
            configuration = meta.configuration
            pendingConfigIndices = []
        }
        send(to: sender, .appendEntriesResponse(AppendEntriesResponse(success: true, matchIndex: log.committed)))
    }
}

extension MessageBody {
    /// What only a leader sends. It counts toward no majority, so the incarnation check lets it
    /// through: a follower whose membership predates the leader's re-admission (`rejoin`) can
    /// learn of it only from that leader's log, and would otherwise never catch up.
    var isSentByLeader: Bool {
        switch self {
        case .appendEntries, .heartbeat, .installSnapshot, .timeoutNow: return true
        case .appendEntriesResponse, .heartbeatResponse, .requestVote, .requestVoteResponse: return false
        }
    }
}
