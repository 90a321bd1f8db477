import BerthRaft

/// The invariant checkers. The cluster reports each fact as it happens (a node became leader,
/// persisted entries, applied an entry, acknowledged an operation, served a read) and the
/// checkers compare it against everything reported before, so each check costs O(entries in
/// the fact) and runs at the very step the fact appears. The first violation is kept.
///
/// Committed history is learned from what nodes apply: an entry applied anywhere is
/// committed, and every node must apply the same one at that index.
final class Checkers {
    /// One committed index as first applied (or, for an index only ever skipped by a
    /// snapshot, as that snapshot describes it).
    struct CommittedEntry {
        var term: Term
        /// Nil when only a snapshot covering this index has been seen.
        var payload: EntryPayload?
        /// `OpStateMachine.digest` after applying this index.
        var digest: UInt64
        /// An upper bound on the term in which the entry was committed: the lowest durable term
        /// of any node when it applied the entry. A node learns a commit index only from a
        /// leader of the committing term or a later one, so its own term is at least that.
        var committedByTerm: Term
    }

    /// An entry as some node persisted it, and the term of the entry before it in that log.
    struct PersistedEntry {
        var payload: EntryPayload
        var previousTerm: Term
    }

    struct EntryID: Hashable {
        var index: LogIndex
        var term: Term
    }

    /// An operation acknowledged to a client.
    struct Acknowledgement {
        var op: UInt64
        var time: UInt64
        var node: NodeID
        var index: LogIndex
    }

    /// The current time, kept by the cluster, stamped on violations.
    var now: UInt64 = 0
    /// Whether the owner checks each message's promises against the disk
    /// (`SimulatedCluster.Options.checksPromises`).
    var checksPromises = true
    private(set) var violation: Violation?

    // Election safety.
    private var leaderOfTerm: [Term: NodeID] = [:]
    // Log matching.
    private var persisted: [EntryID: PersistedEntry] = [:]
    // State machine safety and leader completeness.
    private var committed: [LogIndex: CommittedEntry] = [:]
    /// The highest index known committed.
    private(set) var committedThrough: LogIndex = 0
    /// Leaders (by term) whose log has not been checked yet; see `nodePersistedLog`.
    private var uncheckedLeaders: [NodeID: Term] = [:]
    // Durability and reads.
    private(set) var acknowledged: [Acknowledgement] = []
    private var acknowledgedOps: Set<UInt64> = []

    /// Records a violation (only the first one of a run is kept: later ones are usually echoes).
    func fail(_ invariant: Violation.Invariant, _ detail: String) {
        guard violation == nil else { return }
        violation = Violation(invariant: invariant, time: now, detail: detail)
    }

    // MARK: - 1. Election safety

    /// `node` was seen leading `term`.
    func nodeBecameLeader(_ node: NodeID, term: Term) {
        if let other = leaderOfTerm[term], other != node {
            fail(.electionSafety, "n\(node) and n\(other) both became leader of term \(term)")
            return
        }
        leaderOfTerm[term] = node
        uncheckedLeaders[node] = term
    }

    /// `node` is about to persist hard state `new` over `old`.
    func nodePersistsHardState(_ node: NodeID, old: HardState, new: HardState) {
        if new.term < old.term {
            fail(.electionSafety, "n\(node) persisted term \(new.term) over term \(old.term)")
        } else if new.term == old.term && old.vote != .none && new.vote != old.vote {
            fail(.electionSafety, "n\(node) voted for n\(old.vote) and then n\(new.vote) in term \(new.term)")
        } else if new.commit < old.commit {
            // Not a Raft safety property, but a persisted commit index never moves back.
            fail(.readyContract, "n\(node) persisted commit \(new.commit) over \(old.commit)")
        }
    }

    /// The node crashed: its leadership (and any check of it still due) ends.
    func nodeCrashed(_ node: NodeID) {
        uncheckedLeaders[node] = nil
    }

    // MARK: - 2. Log matching

    /// `node` persisted `entries`; `previousTerm` is the term of the entry before the first one
    /// in its log. Every (index, term) must carry the same payload and follow the same term
    /// everywhere; by induction the logs then agree on their whole prefix.
    func nodePersistedEntries(_ node: NodeID, _ entries: [Entry], previousTerm: Term) {
        var previous = previousTerm
        for entry in entries {
            if entry.term < previous {
                fail(.logMatching, "n\(node) persisted index \(entry.index) term \(entry.term) after term \(previous)")
                return
            }
            let key = EntryID(index: entry.index, term: entry.term)
            if let known = persisted[key] {
                if known.payload != entry.payload {
                    fail(
                        .logMatching,
                        "n\(node) persisted index \(entry.index) term \(entry.term) as \(entry.payload), "
                            + "another node as \(known.payload)")
                    return
                }
                if known.previousTerm != previous {
                    fail(
                        .logMatching,
                        "n\(node) holds index \(entry.index) term \(entry.term) after term \(previous), "
                            + "another node after term \(known.previousTerm)")
                    return
                }
            } else {
                persisted[key] = PersistedEntry(payload: entry.payload, previousTerm: previous)
            }
            previous = entry.term
        }
    }

    // MARK: - 3. Leader completeness

    /// `node` finished a write of `entries`. If it was elected leader of term T and this write
    /// holds its first entry of term T, its disk now holds its whole log as of the election (a
    /// leader only appends), and that log must contain every entry committed in a term before T
    /// (§5.4: leader completeness). Entries whose committing term is not known to be below T
    /// are skipped — a leader elected late in an old term need not have them.
    func nodePersistedLog(_ node: NodeID, entries: [Entry], storage: MemoryStorage) {
        guard let term = uncheckedLeaders[node], entries.contains(where: { $0.term == term }) else { return }
        uncheckedLeaders[node] = nil
        // Indices before `firstIndex` are in its snapshot, which the state machine checks cover.
        var index = max(storage.firstIndex, 1)
        while index <= committedThrough {
            if let entry = committed[index], entry.committedByTerm < term {
                let held = index <= storage.lastIndex ? try? storage.term(at: index) : nil
                if held != entry.term {
                    fail(
                        .leaderCompleteness,
                        "n\(node), leader of term \(term), holds \(held.map { "term \($0)" } ?? "nothing") at index "
                            + "\(index), where term \(entry.term) was committed by term \(entry.committedByTerm)")
                    return
                }
            }
            index += 1
        }
    }

    // MARK: - 4. State machine safety

    /// `node` applied `entry` while its durable term was `term`; `digest` is its state
    /// machine's digest afterwards.
    func nodeApplied(_ node: NodeID, _ entry: Entry, digest: UInt64, term: Term) {
        if var known = committed[entry.index] {
            if known.term != entry.term || (known.payload != nil && known.payload != entry.payload) {
                let knownPayload = known.payload.map { "\($0)" } ?? "a snapshot's entry"
                fail(
                    .stateMachineSafety,
                    "n\(node) applied index \(entry.index) term \(entry.term) \(entry.payload); "
                        + "another node applied term \(known.term) \(knownPayload)")
                return
            }
            if known.digest != digest {
                fail(.stateMachineSafety, "n\(node)'s history through index \(entry.index) differs from another node's")
                return
            }
            if known.payload == nil || term < known.committedByTerm {
                known.payload = entry.payload
                known.committedByTerm = min(known.committedByTerm, term)
                committed[entry.index] = known
            }
        } else {
            committed[entry.index] = CommittedEntry(
                term: entry.term, payload: entry.payload, digest: digest, committedByTerm: term)
            committedThrough = max(committedThrough, entry.index)
        }
    }

    /// `node` skipped `entry` because its state store already held it: it must be the entry
    /// committed there.
    func nodeSkipped(_ node: NodeID, _ entry: Entry) {
        guard let known = committed[entry.index] else { return }
        if known.term != entry.term || (known.payload != nil && known.payload != entry.payload) {
            fail(
                .stateMachineSafety,
                "n\(node) was handed index \(entry.index) term \(entry.term), which its store holds as term "
                    + "\(known.term)")
        }
    }

    /// `node` replaced its state machine with a snapshot at `index` (entry term `term`) while
    /// its durable term was `nodeTerm`.
    func nodeRestoredSnapshot(_ node: NodeID, index: LogIndex, term: Term, digest: UInt64, nodeTerm: Term) {
        guard index > 0 else { return }
        if let known = committed[index] {
            if known.term != term || known.digest != digest {
                fail(
                    .stateMachineSafety,
                    "n\(node) restored a snapshot at index \(index) term \(term) that differs from the "
                        + "committed history (term \(known.term))")
            }
        } else {
            committed[index] = CommittedEntry(term: term, payload: nil, digest: digest, committedByTerm: nodeTerm)
            committedThrough = max(committedThrough, index)
        }
    }

    /// The committed entry at `index`, if known.
    func committedEntry(at index: LogIndex) -> CommittedEntry? { committed[index] }

    // MARK: - 5. Durability

    /// `node` told a client that `op`, applied at `index`, is done.
    func operationAcknowledged(_ op: UInt64, node: NodeID, index: LogIndex, stateMachine: OpStateMachine) {
        guard stateMachine.contains(op) else {
            fail(.durability, "n\(node) acknowledged op \(op) that its state machine does not hold")
            return
        }
        guard acknowledgedOps.insert(op).inserted else { return }
        acknowledged.append(Acknowledgement(op: op, time: now, node: node, index: index))
    }

    /// Whether `op` has been acknowledged to its client.
    func isAcknowledged(_ op: UInt64) -> Bool { acknowledgedOps.contains(op) }

    /// At the end of a healed run: every node holds every acknowledged operation, once.
    func checkFinal(_ machines: [(node: NodeID, stateMachine: OpStateMachine)]) {
        for (node, machine) in machines {
            if machine.ops.count != Set(machine.ops).count {
                fail(.durability, "n\(node) applied an operation twice")
                return
            }
            for ack in acknowledged where !machine.contains(ack.op) {
                fail(
                    .durability,
                    "n\(node) lost op \(ack.op), acknowledged by n\(ack.node) at t=\(ack.time) (index \(ack.index))")
                return
            }
        }
    }

    // MARK: - 6. Linearizability

    /// The client history, judged once the run is over: it must be linearizable given the
    /// sequence of operations the nodes hold (`Linearizability`).
    func checkLinearizable(_ history: History, sequence: [UInt64]) {
        if let problem = Linearizability.check(history, sequence: sequence) { fail(.linearizability, problem) }
    }
}
