/// Checks that a well-framed Raft message makes sense on its own, before it reaches a Raft
/// core: the codec guarantees the bytes decode, this guarantees the values fit together.
/// A peer that sends a message failing these checks is broken or hostile; its receiver refuses
/// the message, logs the reason and closes the connection (docs/wire-protocol.md §9).
extension WireMessage {
    /// Why this message makes no sense, or nil when it does.
    public var senseProblem: String? {
        switch body {
        case .appendEntries(let append):
            if append.prevTerm > term { return "prevTerm \(append.prevTerm) is past the message's term \(term)" }
            var previousTerm = append.prevTerm
            for (offset, entry) in append.entries.enumerated() {
                let (expected, overflow) = append.prevIndex.addingReportingOverflow(UInt64(offset) + 1)
                if overflow || entry.index != expected {
                    return
                        "entry \(offset) has index \(entry.index); entries must follow prevIndex \(append.prevIndex) one by one"
                }
                if entry.term < previousTerm {
                    return "entry \(entry.index) has term \(entry.term), below the term \(previousTerm) before it"
                }
                if entry.term > term {
                    return "entry \(entry.index) has term \(entry.term), past the message's term \(term)"
                }
                previousTerm = entry.term
            }
        case .requestVote(let vote):
            if vote.lastTerm > term { return "lastTerm \(vote.lastTerm) is past the candidate's term \(term)" }
        case .installSnapshot(let snapshot):
            if snapshot.data.isEmpty { return "the snapshot carries no data" }
            if snapshot.metadata.index == 0 || snapshot.metadata.term == 0 {
                return "a snapshot at index \(snapshot.metadata.index), term \(snapshot.metadata.term)"
            }
            if snapshot.metadata.term > term {
                return "snapshot term \(snapshot.metadata.term) is past the message's term \(term)"
            }
            if snapshot.metadata.configuration.voters.isEmpty { return "the snapshot's membership has no voter" }
        case .appendEntriesResponse, .heartbeat, .heartbeatResponse, .requestVoteResponse, .timeoutNow:
            break
        }
        return nil
    }
}
