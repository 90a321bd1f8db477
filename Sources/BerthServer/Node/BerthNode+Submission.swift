import BerthRaft
import BerthWire
import Foundation
import NIOCore

/// Where a client write goes: proposed here if this node leads, forwarded to the leader
/// otherwise — and held, not refused, while that cannot be done for a moment.
///
/// A write that cannot be placed right now — no leader known, a leadership transfer under
/// way, a forward that never left this node, an entry another leader replaced — is held for up
/// to one election timeout (`holdMilliseconds`) and tried again as soon as the Raft status
/// changes: once a new leader is known it goes there, once a transfer aborts it is proposed
/// here. Job writes always carry an idempotency key (the client's, or one this node made up),
/// so a retry can never apply twice. A forward that did leave is never sent again: its outcome
/// is unknown, and the client is told so (`OUTCOME_UNKNOWN`).
extension BerthNode {
    /// What one try at a request gave.
    enum Attempt {
        /// The final answer.
        case answered(ClientAnswer)
        /// Not placed, and certainly not applied: worth another try; the answer if time is up.
        case notPlaced(ClientAnswer)

        var answer: ClientAnswer {
            switch self {
            case .answered(let answer), .notPlaced(let answer): return answer
            }
        }
    }

    /// How long a write that cannot be placed is held: one (maximal) election timeout, the
    /// longest a healthy cluster goes without a leader.
    var holdMilliseconds: Int { 2 * config.electionTicks * config.tickMilliseconds }

    /// Carries out a client request here if this node leads, or forwards it to the leader.
    /// `hops` counts forwards already behind it: a forwarded request is passed on at most once
    /// more (to a leader elected while it travelled).
    func submit(_ request: ClientRequest, hops: Int = 0) async -> ClientAnswer {
        // A draining node refuses its own clients, who can go elsewhere, but still carries out
        // what other nodes forward to it: it may lead until its hand-off completes (or for good,
        // if no follower was caught up), and refusing those would fail writes the other nodes
        // took — measured behind HAProxy, where every retry met DRAINING from one node or another.
        if isDraining && hops == 0 { return ClientAnswer(APIError.from(.draining)) }
        let deadline = NIODeadline.now() + .milliseconds(Int64(holdMilliseconds))
        while true {
            let status = raft.basicStatus
            let attempt: Attempt
            if status.role == .leader {
                attempt = await execute(request)
            } else if status.leader != .none, hops < 2 {
                attempt = await forward(request, to: status.leader)
            } else {
                // Spec §2: a node without a leader names the last one it knew.
                let hint = status.leader != .none ? status.leader : raft.lastKnownLeaderHint
                attempt = .notPlaced(ClientAnswer(APIError.from(.notLeader(leaderHint: hint))))
            }
            guard case .notPlaced(let answer) = attempt else { return attempt.answer }
            guard NIODeadline.now() < deadline else { return answer }
            await raft.statusChange(from: status, until: deadline)
        }
    }

    /// Sends `request` to `leader` and returns its answer; `.notPlaced` when it never left.
    func forward(_ request: ClientRequest, to leader: NodeID) async -> Attempt {
        do {
            let timeout = TimeAmount.milliseconds(Int64(config.commitTimeoutMilliseconds + 500))
            let response = try await transport.forward(request.forwardPayload, to: leader, timeout: timeout)
            return .answered(ClientAnswer(forwardedStatus: response.status, body: response.payload))
        } catch let failure as WriteFailure {
            if case .forwardFailed = failure { return .notPlaced(ClientAnswer(APIError.from(failure))) }
            return .answered(ClientAnswer(APIError.from(failure)))
        } catch {
            return .notPlaced(ClientAnswer(APIError.from(.forwardFailed(leader: leader, reason: "\(error)"))))
        }
    }

    /// The receiving end of a forwarded request: carried out as if it had come here, except
    /// that it may be passed on only once more.
    func executeForwarded(_ request: ForwardRequest, from peer: NodeID) async -> ForwardResponse {
        let answer: ClientAnswer
        if let clientRequest = ClientRequest(forwardPayload: request.payload) {
            answer = await submit(clientRequest, hops: 1)
        } else {
            answer = ClientAnswer(APIError.badRequest("forwarded request is not valid"))
        }
        return ForwardResponse(requestID: request.requestID, status: UInt16(answer.status), payload: answer.body)
    }
}
