import BerthRaft

/// Something worth telling about a simulated run: elections, crashes, partitions, proposals,
/// acknowledgements. Heartbeats and ordinary replication are not events; they would drown the
/// story. A failure report prints the last few dozen events, and `berth demo` narrates them.
public struct SimulationEvent: Sendable, CustomStringConvertible {
    /// When it happened, in time units since the start of the run.
    public var time: UInt64
    public var kind: Kind

    public init(time: UInt64, kind: Kind) {
        self.time = time
        self.kind = kind
    }

    /// What happened.
    public enum Kind: Sendable {
        /// The run entered a new phase (faults, heal, …).
        case phase(String)
        /// `node` became a candidate for `term` (after winning its pre-vote, if any).
        case campaign(node: NodeID, term: Term)
        /// `node` became leader of `term`.
        case becameLeader(node: NodeID, term: Term)
        /// `node` stopped leading in `term`.
        case steppedDown(node: NodeID, term: Term)
        /// `node` crashed; the Ready it was persisting (entries, hard state, messages) was lost.
        case crashed(node: NodeID, lostEntries: Int, lostHardState: Bool, lostMessages: Int)
        /// A power loss left the first `keptRecords` of the `records` of `node`'s write durable.
        case tornWrite(node: NodeID, keptRecords: Int, records: Int)
        /// A power loss rolled `node`'s state store back from index `from` to `to`.
        case storeRolledBack(node: NodeID, from: LogIndex, to: LogIndex)
        /// `node` lost its disk; it comes back empty under `incarnation`.
        case diskLost(node: NodeID, incarnation: Incarnation)
        /// `node` restarted from its durable storage.
        case restarted(node: NodeID, term: Term, snapshotIndex: LogIndex, lastIndex: LogIndex)
        /// `node` froze (a long GC pause or a stalled VM) until `until`.
        case paused(node: NodeID, until: UInt64)
        /// The network was split into `groups`; links between groups drop everything.
        case partitioned(groups: [[NodeID]])
        /// Messages from `from` to `to` are dropped; the other direction still works.
        case linkBlocked(from: NodeID, to: NodeID)
        /// Every link works again.
        case networkHealed
        /// New loss and duplication rates (percent) and message delay range (time units).
        case networkQuality(lossPercent: Int, duplicatePercent: Int, minDelay: UInt64, maxDelay: UInt64)
        /// `client` proposed operation `op` at `node`, which put it at `ticket`.
        case proposed(client: Int, op: UInt64, node: NodeID, ticket: ProposalTicket)
        /// `node` forwarded `client`'s operation `op` to `leader`.
        case forwarded(client: Int, op: UInt64, node: NodeID, leader: NodeID)
        /// `node` never heard back about the forward of `client`'s operation `op`.
        case outcomeUnknown(client: Int, op: UInt64, node: NodeID)
        /// `node` refused `client`'s operation `op`.
        case proposalRefused(client: Int, op: UInt64, node: NodeID, reason: String)
        /// `node` applied `client`'s operation `op` at `index` and told the client.
        case acknowledged(client: Int, op: UInt64, node: NodeID, index: LogIndex)
        /// A different entry landed at the ticket's index, or `node` lost track of the proposal.
        case proposalLost(client: Int, op: UInt64, node: NodeID, ticket: ProposalTicket)
        /// `client` asked `node` for a linearizable read.
        case readIssued(client: Int, read: UInt64, node: NodeID)
        /// `node` served the read at `applied` once the read index `index` was applied.
        case readServed(client: Int, read: UInt64, node: NodeID, index: LogIndex, applied: LogIndex)
        /// `node` could not confirm the read (it stopped leading, or crashed).
        case readFailed(client: Int, read: UInt64, node: NodeID)
        /// `node` replaced its state with the leader's snapshot at `index`.
        case snapshotInstalled(node: NodeID, index: LogIndex, term: Term)
        /// `node` snapshotted its state machine at `index` and dropped the log before it.
        case compacted(node: NodeID, index: LogIndex)
        /// The leader `from` was asked to hand leadership to `to`.
        case transferRequested(from: NodeID, to: NodeID)
        /// The transfer from `node` to `target` ended without `target` taking over.
        case transferAborted(node: NodeID, target: NodeID, reason: String)
        /// `node` accepted a membership change at `ticket`.
        case configChangeProposed(node: NodeID, change: ConfigChange, ticket: ProposalTicket)
        /// The cluster's committed membership became `voters` and `learners` (first node to apply it).
        case configurationApplied(index: LogIndex, voters: [NodeID], learners: [NodeID])
        /// An invariant broke.
        case violation(Violation)
    }

    public var description: String {
        "t=\(Self.pad(time)) \(kind)"
    }

    private static func pad(_ time: UInt64) -> String {
        let text = String(time)
        return String(repeating: " ", count: max(0, 6 - text.count)) + text
    }
}

extension SimulationEvent.Kind: CustomStringConvertible {
    public var description: String {
        switch self {
        case .phase(let name):
            return "== \(name) =="
        case .campaign(let node, let term):
            return "n\(node) campaigns for term \(term)"
        case .becameLeader(let node, let term):
            return "n\(node) became leader of term \(term)"
        case .steppedDown(let node, let term):
            return "n\(node) stepped down in term \(term)"
        case .crashed(let node, let lostEntries, let lostHardState, let lostMessages):
            if lostEntries == 0 && !lostHardState && lostMessages == 0 { return "n\(node) crashed" }
            return "n\(node) crashed mid-write: lost \(lostEntries) unsynced entries"
                + (lostHardState ? " and its hard state" : "") + ", \(lostMessages) unsent messages"
        case .tornWrite(let node, let kept, let records):
            return "n\(node)'s write in flight: \(kept) of \(records) records durable"
        case .storeRolledBack(let node, let from, let to):
            return "n\(node)'s state store rolled back from index \(from) to \(to)"
        case .diskLost(let node, let incarnation):
            return "n\(node) lost its disk; it comes back empty as incarnation \(incarnation)"
        case .restarted(let node, let term, let snapshotIndex, let lastIndex):
            return "n\(node) restarted at term \(term), snapshot \(snapshotIndex), log to \(lastIndex)"
        case .paused(let node, let until):
            return "n\(node) paused until t=\(until)"
        case .partitioned(let groups):
            return "partition "
                + groups.map { "{" + $0.map { "n\($0)" }.joined(separator: ",") + "}" }
                .joined(separator: " | ")
        case .linkBlocked(let from, let to):
            return "link n\(from) → n\(to) blocked (the reverse still works)"
        case .networkHealed:
            return "network healed"
        case .networkQuality(let loss, let duplicate, let minDelay, let maxDelay):
            return "network: \(loss)% loss, \(duplicate)% duplicates, delay \(minDelay)–\(maxDelay)"
        case .proposed(let client, let op, let node, let ticket):
            return "client \(client) proposed op \(op) at n\(node) → index \(ticket.index) term \(ticket.term)"
        case .forwarded(let client, let op, let node, let leader):
            return "n\(node) forwarded client \(client) op \(op) to n\(leader)"
        case .outcomeUnknown(let client, let op, let node):
            return "n\(node) never heard back about client \(client) op \(op): outcome unknown"
        case .proposalRefused(let client, let op, let node, let reason):
            return "n\(node) refused client \(client) op \(op): \(reason)"
        case .acknowledged(let client, let op, let node, let index):
            return "n\(node) acknowledged client \(client) op \(op) (index \(index))"
        case .proposalLost(let client, let op, let node, let ticket):
            return "client \(client) op \(op) lost at n\(node) (index \(ticket.index) term \(ticket.term)); will retry"
        case .readIssued(let client, let read, let node):
            return "client \(client) read \(read) at n\(node)"
        case .readServed(let client, let read, let node, let index, let applied):
            return "n\(node) served client \(client) read \(read) (read index \(index), applied \(applied))"
        case .readFailed(let client, let read, let node):
            return "n\(node) failed client \(client) read \(read)"
        case .snapshotInstalled(let node, let index, let term):
            return "n\(node) installed the leader's snapshot at index \(index) term \(term)"
        case .compacted(let node, let index):
            return "n\(node) compacted its log through \(index)"
        case .transferRequested(let from, let to):
            return "n\(from) asked to transfer leadership to n\(to)"
        case .transferAborted(let node, let target, let reason):
            return "n\(node) aborted the transfer to n\(target): \(reason)"
        case .configChangeProposed(let node, let change, let ticket):
            return "n\(node) proposed \(change) at index \(ticket.index)"
        case .configurationApplied(let index, let voters, let learners):
            return "membership at index \(index): voters \(voters.map { "n\($0)" })"
                + (learners.isEmpty ? "" : ", learners \(learners.map { "n\($0)" })")
        case .violation(let violation):
            return "VIOLATION: \(violation)"
        }
    }
}
