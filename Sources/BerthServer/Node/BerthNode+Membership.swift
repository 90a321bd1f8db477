import BerthRaft
import BerthStorage
import Foundation
import NIOCore

extension BerthNode {
    /// Dials members it has addresses for and drops links to servers no longer in the
    /// configuration. Runs after membership or address changes are applied.
    func syncPeers(with status: RaftStatus) {
        var addresses = config.peers
        for member in (try? raft.state.members()) ?? [] {
            if let address = HostPort(member.peerAddress) { addresses[member.nodeID] = address }
            transport.learnedHTTPAddress(member.httpAddress, of: member.nodeID)
        }
        let members = status.configuration.members
        // Not in any configuration yet (joining): accept the cluster's peers as they come.
        transport.setAcceptAnyMember(!members.contains(config.nodeID))
        let linked = transport.linkedPeers
        for id in members.sorted() where id != config.nodeID && !linked.contains(id) {
            if let address = addresses[id] { transport.addPeer(id, address: address) }
        }
        // The --peers stay linked while they are not members yet: they join one at a time, and
        // each must reach the leader to ask.
        if !members.isEmpty {
            for id in linked.sorted() where !members.contains(id) && config.peers[id] == nil {
                transport.removePeer(id)
            }
        }
    }

    /// Leader: records the server's addresses and admits it as a learner under `incarnation`
    /// — a new server, or a member that lost its disk and came back under a new incarnation
    /// (`ConfigChange.rejoin`) — then promotes it once it has caught up (thesis §4.2.1).
    /// Answers 200 once it votes, or 202 if it is still catching up after
    /// `promotionWaitSeconds` (promotion goes on in the background). Without `incarnation`,
    /// the one the server's hello gave is used.
    func addMember(_ id: NodeID, peerAddress: String, httpAddress: String, incarnation: Incarnation?) async
        -> ClientAnswer
    {
        guard id >= 1 else { return ClientAnswer(APIError.badRequest("node_id must be ≥ 1", field: "node_id")) }
        guard HostPort(peerAddress) != nil else {
            return ClientAnswer(APIError.badRequest("peer_address must be HOST:PORT", field: "peer_address"))
        }
        guard HostPort(httpAddress) != nil else {
            return ClientAnswer(APIError.badRequest("http_address must be HOST:PORT", field: "http_address"))
        }
        let heard = transport.helloByPeer[id]?.incarnation
        guard let incarnation = incarnation ?? heard else {
            return ClientAnswer(
                APIError(
                    .conflict, code: "MEMBER_NOT_CONNECTED",
                    message:
                        "node \(id) has not connected to the leader, so its incarnation is unknown; start it first",
                    details: ["node_id": "\(id)"], retryAfterSeconds: 1))
        }
        do {
            // Every member's addresses go into the replicated state, so the newcomer (which knows
            // only the join URL) learns how to reach everyone.
            let recorded = Set(((try? raft.state.members()) ?? []).map(\.nodeID))
            let status = try await self.status()
            for member in status.configuration.members.sorted() where !recorded.contains(member) && member != id {
                guard let peer = member == config.nodeID ? config.peerListen : transport.peerAddress(of: member),
                    let http = transport.httpAddress(of: member)
                else { continue }
                _ = try await raft.propose(
                    .setMember(MemberRecord(nodeID: member, peerAddress: peer.description, httpAddress: http))
                ).get()
            }
            _ = try await raft.propose(
                .setMember(MemberRecord(nodeID: id, peerAddress: peerAddress, httpAddress: httpAddress))
            ).get()
            switch status.configuration.incarnation(of: id) {
            case incarnation where status.configuration.voters.contains(id):
                return Self.memberAnswer(200, id, role: "voter")
            case incarnation:
                break  // a learner already: promote below
            case .some(let admitted):
                // The member lost its disk. Re-admit only the incarnation this leader actually
                // hears from it, so a stale or mistaken request cannot unseat a healthy member.
                guard heard == incarnation else {
                    return ClientAnswer(
                        APIError(
                            .conflict, code: "INCARNATION_NOT_CONNECTED",
                            message:
                                "node \(id) is not connected to the leader under incarnation \(ClusterRoutes.incarnationText(incarnation))",
                            details: ["node_id": "\(id)", "incarnation": ClusterRoutes.incarnationText(incarnation)],
                            retryAfterSeconds: 1))
                }
                try await raft.proposeConfigChange(.rejoin(id, incarnation: incarnation)).get()
                logger.warning(
                    "member came back with a new disk; re-admitted as a learner until it catches up",
                    metadata: [
                        "node": "\(id)", "old_incarnation": "\(ClusterRoutes.incarnationText(admitted))",
                        "incarnation": "\(ClusterRoutes.incarnationText(incarnation))",
                    ])
            case nil:
                try await raft.proposeConfigChange(.addLearner(id, incarnation: incarnation)).get()
                logger.info("learner added", metadata: ["node": "\(id)"])
            }
        } catch {
            return ClientAnswer(Self.apiError(for: error))
        }
        let promotion = Task { await self.promoteWhenCaughtUp(id) }
        let deadline = Date().addingTimeInterval(Self.promotionWaitSeconds)
        while Date() < deadline {
            if let status = try? await self.status(), status.configuration.voters.contains(id) {
                return Self.memberAnswer(200, id, role: "voter")
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        _ = promotion
        return Self.memberAnswer(202, id, role: "learner")
    }

    /// Shorter than a forwarded request's deadline, so an add through a follower answers 202
    /// rather than timing out.
    static let promotionWaitSeconds: Double = 4

    /// Retries the promotion until the learner is caught up, leadership moves, or 5 minutes pass.
    private func promoteWhenCaughtUp(_ id: NodeID) async {
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            guard let status = try? await self.status(), status.role == .leader else { return }
            if status.configuration.voters.contains(id) || !status.configuration.contains(id) { return }
            do {
                try await raft.proposeConfigChange(.promote(id)).get()
                logger.info("learner promoted to voter", metadata: ["node": "\(id)"])
                return
            } catch {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Leader: removes a voter or learner (one change at a time).
    func removeMember(_ id: NodeID) async -> ClientAnswer {
        do {
            try await raft.proposeConfigChange(.remove(id)).get()
            logger.info("member removed", metadata: ["node": "\(id)"])
            return ClientAnswer(status: 200, body: Array("{\"node_id\":\(id),\"removed\":true}".utf8))
        } catch {
            return ClientAnswer(Self.apiError(for: error))
        }
    }

    private static func memberAnswer(_ status: Int, _ id: NodeID, role: String) -> ClientAnswer {
        ClientAnswer(status: status, body: Array("{\"node_id\":\(id),\"role\":\"\(role)\"}".utf8))
    }

    static func apiError(for error: any Error) -> APIError {
        switch error as? RaftError {
        case .configChangeInProgress(let index):
            return APIError(
                .conflict, code: "CONFIG_CHANGE_IN_PROGRESS",
                message: "another membership change (log index \(index)) is not applied yet; retry shortly",
                retryAfterSeconds: 1)
        case .invalidConfigChange(let reason):
            return APIError(.badRequest, code: "INVALID_MEMBER_CHANGE", message: "\(reason)")
        case .leaderNotReady:
            return APIError(
                .serviceUnavailable, code: "LEADER_NOT_READY",
                message: "the leader has not committed an entry of its term yet", retryAfterSeconds: 1)
        case .some(let raftError):
            return APIError.from(WriteFailure(raftError))
        case .none:
            return APIError.from(error as? WriteFailure ?? .leadershipLost)
        }
    }
}
