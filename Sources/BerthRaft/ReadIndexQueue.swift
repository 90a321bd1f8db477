/// Reads waiting for a quorum to confirm the leader still leads (thesis §6.4).
///
/// Each read is tagged with a round number; every heartbeat carries the newest round, and an
/// acknowledgement of round r confirms every read of round ≤ r, because that heartbeat left
/// after those reads arrived.
struct ReadIndexQueue {
    struct PendingRead {
        /// The owner's id for the read.
        var id: UInt64
        /// The commit index when the read arrived.
        var index: LogIndex
        var round: UInt64
        /// Voters that acknowledged a heartbeat of round ≥ `round`, the leader included.
        var acks: Set<NodeID>
    }

    private(set) var pending: [PendingRead] = []
    /// Reads that arrived before the leader committed an entry of its term.
    private(set) var deferred: [UInt64] = []
    /// The newest round handed out; heartbeats carry it.
    private(set) var latestRound: UInt64 = 0

    var count: Int { pending.count + deferred.count }

    mutating func `defer`(_ id: UInt64) {
        deferred.append(id)
    }

    mutating func takeDeferred() -> [UInt64] {
        defer { deferred = [] }
        return deferred
    }

    /// Registers a read at `index`, acknowledged by `leader` itself; returns its round.
    mutating func add(id: UInt64, index: LogIndex, leader: NodeID) -> UInt64 {
        latestRound += 1
        pending.append(PendingRead(id: id, index: index, round: latestRound, acks: [leader]))
        return latestRound
    }

    /// Records `voter`'s acknowledgement of `round` and returns the reads now confirmed by a
    /// quorum, oldest first.
    mutating func acknowledge(round: UInt64, from voter: NodeID, quorum: Int, voters: Set<NodeID>) -> [ReadState] {
        guard round > 0, voters.contains(voter) else { return [] }
        for i in pending.indices where pending[i].round <= round {
            pending[i].acks.insert(voter)
        }
        var confirmed: [ReadState] = []
        // Older reads have every acknowledgement a newer one has, so confirm from the front.
        while let first = pending.first, first.acks.intersection(voters).count >= quorum {
            confirmed.append(ReadState(id: first.id, index: first.index))
            pending.removeFirst()
        }
        return confirmed
    }

    /// Drops everything (leadership lost) and returns the ids that can no longer be answered.
    mutating func failAll() -> [UInt64] {
        let ids = pending.map(\.id) + deferred
        pending = []
        deferred = []
        return ids
    }
}
