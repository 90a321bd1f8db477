/// What the owner of a `ReadyPipeline` does with each `Ready`: the three effects of the
/// contract documented on `Ready`, in the order the pipeline calls them.
public protocol ReadyOwner: AnyObject {
    /// Hands messages to the network. Delivery may fail, repeat or reorder.
    func send(_ messages: [Message])
    /// Starts making the Ready's snapshot, hard state and entries durable (with an fsync when
    /// `ready.mustSync`). Answer `.done` when that finished during the call, or `.pending` and
    /// call `ReadyPipeline.writeCompleted()` once it has.
    func write(_ ready: Ready) -> ReadyWrite
    /// Restores the Ready's snapshot, applies its committed entries, serves its reads and
    /// notes its role change and aborted transfer. Called once the write is durable.
    func apply(_ ready: Ready)
}

/// Whether a `ReadyOwner.write` finished during the call.
public enum ReadyWrite: Sendable {
    case done
    /// The owner calls `ReadyPipeline.writeCompleted()` later.
    case pending
}

/// The owner's half of the `Ready` contract, written once so that the server's Raft loop and
/// the simulator carry out Readys in exactly the same way: the simulator proves the path
/// production runs.
///
/// For each Ready: messages a steady leader may send before its own write go out first
/// (thesis §10.2.1), as do a candidate's RequestVotes (it counts its own vote only once
/// durable), the write starts, and only when it is durable do the other messages go
/// out, the Ready get applied, and `advance()` run. While a write is under way the core keeps
/// taking ticks and messages, and its keep-alives (heartbeats and their answers) leave at once
/// (`RaftNode.takeMessagesSendableWhileWriting()`), so a slow disk does not silence a leader.
/// One Ready is in flight at a time.
public final class ReadyPipeline {
    public let node: RaftNode
    private unowned let owner: any ReadyOwner
    private var inFlight: (ready: Ready, messagesAfterWrite: [Message])?
    /// The node's term, vote and role when it handed out the previous Ready.
    private var previous: BasicStatus
    /// A deliberately broken owner for the simulator's own tests: every message leaves before
    /// its write is durable, so votes and acknowledgements can outlive a crash that loses what
    /// they promised. The checkers must catch it.
    public var sendsEverythingBeforeWrite = false

    public init(node: RaftNode, owner: any ReadyOwner) {
        self.node = node
        self.owner = owner
        previous = node.basicStatus
    }

    /// Whether a Ready is being written.
    public var isWriting: Bool { inFlight != nil }

    /// The Ready being written, if any.
    public var readyBeingWritten: Ready? { inFlight?.ready }

    /// Carries out what the core has for the owner. Call after anything that may have given
    /// the core work: a tick, a message, a proposal, a read, a transfer. Handles at most
    /// `maxReadys` Readys (a core that always has another must not hold its owner forever).
    public func run(maxReadys: Int = 64) {
        if inFlight != nil {
            let early = node.takeMessagesSendableWhileWriting()
            if !early.isEmpty { owner.send(early) }
            return
        }
        var handled = 0
        while inFlight == nil, handled < maxReadys, node.hasReady {
            handled += 1
            let ready = node.ready()
            let current = node.basicStatus
            // A leader whose term and vote are those of the previous Ready — durable by now, one
            // write being in flight at a time — promises nothing unwritten by what it sends: its
            // own new entries count toward a majority only after `advance()` (thesis §10.2.1).
            // That includes a candidate's first Ready as leader: its term and its own vote were
            // made durable by the Ready that started the campaign.
            let sendFirst =
                sendsEverythingBeforeWrite
                || (ready.snapshot == nil && current.role == .leader
                    && current.term == previous.term && current.vote == previous.vote)
            previous = current
            var early = sendFirst ? ready.messages : []
            var afterWrite = sendFirst ? [] : ready.messages
            if !sendFirst && current.role == .candidate && current.vote == node.id {
                // A candidate's RequestVotes promise nothing: it counts its own vote only once this
                // write made it durable (`RaftNode.ownVoteIsDurable`), so they need not wait for it.
                early = afterWrite.filter { Self.isCampaignRequest($0, term: current.term) }
                afterWrite.removeAll { Self.isCampaignRequest($0, term: current.term) }
            }
            if !early.isEmpty { owner.send(early) }
            inFlight = (ready, afterWrite)
            if owner.write(ready) == .done { finish() }
        }
    }

    /// A real (not pre-) RequestVote of the campaign in `term`.
    private static func isCampaignRequest(_ message: Message, term: Term) -> Bool {
        guard message.term == term, case .requestVote(let request) = message.body else { return false }
        return !request.preVote
    }

    /// The write the owner answered `.pending` for is durable: finish its Ready and go on.
    public func writeCompleted() {
        precondition(inFlight != nil, "writeCompleted() without a write in flight")
        finish()
        run()
    }

    private func finish() {
        guard let flight = inFlight else { return }
        inFlight = nil
        if !flight.messagesAfterWrite.isEmpty { owner.send(flight.messagesAfterWrite) }
        owner.apply(flight.ready)
        node.advance()
    }
}
