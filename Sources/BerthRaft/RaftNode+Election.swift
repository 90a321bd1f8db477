extension RaftNode {
    /// Followers and candidates: an election timeout without hearing from a leader starts an
    /// election (§5.2).
    func tickElection() {
        electionElapsed += 1
        if isPromotable && electionElapsed >= randomizedElectionTicks {
            electionElapsed = 0
            startElection(transfer: false)
        }
    }

    /// Starts a pre-vote round (thesis §9.6) or, for a leadership transfer or without pre-vote,
    /// a real election (§5.2).
    func startElection(transfer: Bool) {
        guard role != .leader, isPromotable else { return }
        // Committed membership changes not yet applied could change who votes: wait for them.
        if let pending = pendingConfigIndices.first, pending <= log.committed { return }
        if config.preVote && !transfer {
            becomePreCandidate()
        } else {
            becomeCandidate()
        }
        let requestTerm = role == .preCandidate ? term + 1 : term
        let request = RequestVote(
            lastIndex: log.lastIndex, lastTerm: log.lastTerm, preVote: role == .preCandidate,
            leadershipTransfer: transfer)
        recordVote(from: id, granted: true)
        guard role != .leader else { return }
        for voter in configuration.voters.sorted() where voter != id {
            send(to: voter, .requestVote(request), term: requestTerm)
        }
    }

    /// Counts a (pre-)vote and acts when the outcome is decided.
    func recordVote(from voter: NodeID, granted: Bool) {
        guard configuration.voters.contains(voter), votes[voter] == nil else { return }
        votes[voter] = granted
        tallyVotes()
    }

    /// Whether this campaign's own vote is durable. A candidate's RequestVotes leave before its
    /// new term and vote are written (`ReadyPipeline`), so the fsync of its own vote overlaps its
    /// voters' fsyncs of theirs; but it must not win on a vote it could still forget. A candidate
    /// that won, crashed before its vote was on disk, and came back in the previous term could
    /// vote for a rival in the same term: two leaders of one term, whose entries at the same
    /// index and term differ, breaking Log Matching.
    var ownVoteIsDurable: Bool {
        durableTermVote.term == term && durableTermVote.vote == id
    }

    /// Acts on the votes so far: wins, moves from pre-vote to a real vote, or loses.
    func tallyVotes() {
        var grantedCount = votes.values.filter { $0 }.count
        let rejectedCount = votes.count - grantedCount
        if role == .candidate, votes[id] == true, !ownVoteIsDurable { grantedCount -= 1 }
        if grantedCount >= configuration.quorum {
            if role == .preCandidate {
                becomeCandidate()
                let request = RequestVote(lastIndex: log.lastIndex, lastTerm: log.lastTerm)
                recordVote(from: id, granted: true)
                guard role != .leader else { return }
                for voter in configuration.voters.sorted() where voter != id {
                    send(to: voter, .requestVote(request))
                }
            } else {
                becomeLeader()
            }
        } else if rejectedCount >= configuration.quorum {
            // A majority said no: this election is lost.
            becomeFollower(term: term, leader: .none)
        }
    }

    func becomeFollower(term newTerm: Term, leader newLeader: NodeID) {
        if role == .leader {
            failAllReads()
            if transferTarget != .none && newLeader != transferTarget {
                abortTransfer(.leadershipLost)
            }
            transferTarget = .none
            progress = [:]
        }
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    private func becomePreCandidate() {
        precondition(role != .leader)
        // The term does not move: pre-voting must leave no trace if it fails (thesis §9.6).
        votes = [:]
        electionElapsed = 0
        resetRandomizedElectionTicks()
        role = .preCandidate
        leader = .none
    }

    private func becomeCandidate() {
        precondition(role != .leader)
        reset(term: term + 1)
        vote = id
        role = .candidate
    }

    private func becomeLeader() {
        precondition(role == .candidate)
        reset(term: term)
        role = .leader
        leader = id
        progress = [:]
        syncProgressWithConfiguration()
        progress[id]?.match = log.stableLastIndex
        progress[id]?.becomeReplicate()
        // A new leader commits an entry of its own term to learn what is committed (§5.4.2, §8).
        appendEntries([Entry(term: term, index: log.lastIndex + 1, payload: .empty)])
        broadcastAppend()
    }

    /// Clears the per-term state when the term changes or a role begins.
    private func reset(term newTerm: Term) {
        if term != newTerm {
            term = newTerm
            vote = .none
        }
        leader = .none
        electionElapsed = 0
        heartbeatElapsed = 0
        resetRandomizedElectionTicks()
        votes = [:]
        needsBroadcast = false
    }

    private func resetRandomizedElectionTicks() {
        randomizedElectionTicks = config.electionTicks + Int.random(in: 0..<config.electionTicks, using: &rng)
    }
}
