import AsyncHTTPClient
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
        if !members.isEmpty {
            for id in linked.sorted() where !members.contains(id) { transport.removePeer(id) }
        }
    }

    /// Leader: records the new server's addresses, adds it as a learner, and promotes it once it
    /// has caught up (thesis §4.2.1). Answers 200 once it votes, or 202 if it is still catching
    /// up after `promotionWaitSeconds` (promotion goes on in the background).
    func addMember(_ id: NodeID, peerAddress: String, httpAddress: String) async -> ClientAnswer {
        guard id >= 1 else { return ClientAnswer(APIError.badRequest("node_id must be ≥ 1", field: "node_id")) }
        guard HostPort(peerAddress) != nil else {
            return ClientAnswer(APIError.badRequest("peer_address must be HOST:PORT", field: "peer_address"))
        }
        guard HostPort(httpAddress) != nil else {
            return ClientAnswer(APIError.badRequest("http_address must be HOST:PORT", field: "http_address"))
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
            if status.configuration.voters.contains(id) {
                return Self.memberAnswer(200, id, role: "voter")
            }
            if !status.configuration.learners.contains(id) {
                try await raft.proposeConfigChange(.addLearner(id)).get()
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

    /// A fresh node started with `--join`: asks the cluster to add it, retrying until it is in.
    func joinIfNeeded() {
        guard let joinURL = config.join else { return }
        let body =
            "{\"node_id\":\(config.nodeID),\"peer_address\":\"\(config.peerListen)\",\"http_address\":\"\(config.httpListen)\"}"
        Task {
            while true {
                if let status = try? await self.status(), status.configuration.contains(self.config.nodeID) {
                    return
                }
                // The newcomer knows only the join URL: learn every member's peer address first,
                // so it can answer the leader (its answers travel on its own outbound links).
                await self.learnPeers(from: joinURL)
                var request = HTTPClientRequest(url: "\(joinURL)/api/cluster/members")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body))
                if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(15)),
                    (200..<300).contains(Int(response.status.code))
                {
                    self.logger.info("joined the cluster", metadata: ["via": "\(joinURL)"])
                    return
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Reads `GET /api/cluster` at `url` and dials every member it lists.
    private func learnPeers(from url: String) async {
        guard
            let response = try? await HTTPClient.shared.execute(
                HTTPClientRequest(url: "\(url)/api/cluster"), timeout: .seconds(5)),
            response.status == .ok,
            let body = try? await response.body.collect(upTo: 1 << 20),
            let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
            let nodes = object["nodes"] as? [[String: Any]]
        else { return }
        let linked = transport.linkedPeers
        for entry in nodes {
            guard let id = (entry["node_id"] as? NSNumber)?.uint64Value, id != config.nodeID, !linked.contains(id),
                let text = entry["peer_address"] as? String, let address = HostPort(text)
            else { continue }
            transport.addPeer(id, address: address)
        }
    }
}
