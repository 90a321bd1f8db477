import AsyncHTTPClient
import BerthRaft
import BerthWire
import Foundation
import NIOCore

/// How a node whose data directory does not make it a voter gets into the cluster.
///
/// - The lowest id of `--peers`, with an empty log, founds a new cluster — but only after a
///   majority of `--peers` (itself included) has answered its hello and none of them holds a
///   log. A node that lost its disk must rejoin the cluster it belonged to, never found a
///   second one beside it; with most peers silent it waits.
/// - Every other node with an empty log (new, or back from a lost disk) asks the leader to
///   admit it under its incarnation: through `--join URL` over HTTP, or else through its peers
///   over the peer protocol. It asks again until it is a voter under its own incarnation, so a
///   leader change in the middle only delays it.
/// - A node that holds a log in which it is not a member was removed: it stays out.
extension BerthNode {
    func admitIfNeeded() {
        Task { await self.admit() }
    }

    private func admit() async {
        guard let status = try? await status() else { return }
        guard needsAdmission(status) else { return }
        if status.isUnfounded, config.join == nil, config.nodeID == config.peers.keys.min() {
            if await mayFoundCluster() {
                do {
                    try await raft.bootstrap().get()
                    logger.info(
                        "founded a new cluster; the other peers join it one at a time",
                        metadata: ["incarnation": "\(ClusterRoutes.incarnationText(raft.incarnation))"])
                    return
                } catch {
                    logger.error("cannot found the cluster", metadata: ["error": "\(error)"])
                }
            }
        }
        logger.info(
            "asking the cluster to admit this node",
            metadata: [
                "incarnation": "\(ClusterRoutes.incarnationText(raft.incarnation))",
                "via": "\(config.join ?? "peers")",
            ])
        await joinUntilVoter()
    }

    /// Whether this node must ask to be admitted: it is not a voter under its own incarnation,
    /// and it is new (empty log), back from a lost disk (its log admits another incarnation of
    /// it), or a learner waiting for promotion.
    func needsAdmission(_ status: RaftStatus) -> Bool {
        let recorded = status.configuration.incarnation(of: config.nodeID)
        if recorded == raft.incarnation, status.configuration.voters.contains(config.nodeID) { return false }
        return status.isUnfounded || recorded != nil
    }

    /// Waits until a majority of `--peers` answered hellos; true when none of them holds a log.
    private func mayFoundCluster() async -> Bool {
        let majority = config.peers.count / 2 + 1
        var nextReport = Date().addingTimeInterval(5)
        while !isStopping {
            let hellos = transport.helloByPeer.filter { config.peers[$0.key] != nil && $0.key != config.nodeID }
            if let holder = hellos.values.first(where: \.hasLog) {
                logger.info(
                    "a peer already holds a log: joining its cluster instead of founding one",
                    metadata: ["peer": "\(holder.nodeID)"])
                return false
            }
            if hellos.count + 1 >= majority { return true }
            if Date() >= nextReport {
                nextReport = Date().addingTimeInterval(5)
                logger.warning(
                    "waiting to hear from a majority of --peers before founding a cluster",
                    metadata: ["heard_from": "\(hellos.keys.sorted())", "majority": "\(majority)"])
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Asks to be admitted until this node is a voter under its own incarnation.
    private func joinUntilVoter() async {
        let request = ClientRequest.addMember(
            nodeID: config.nodeID, peerAddress: config.peerListen.description,
            httpAddress: config.httpListen.description, incarnation: raft.incarnation)
        var hint: NodeID = .none
        var delayMilliseconds = 50
        while !isStopping {
            guard let status = try? await status() else { return }
            if !needsAdmission(status) {
                logger.info("admitted to the cluster as a voter")
                return
            }
            let answer: ClientAnswer?
            if let joinURL = config.join {
                answer = await askOverHTTP(joinURL)
            } else {
                var targets = [hint, status.leader].filter { $0 != .none && $0 != config.nodeID }
                targets += transport.linkedPeers.sorted().filter { !targets.contains($0) }
                answer = await askOverPeers(request, targets: targets, hint: &hint)
            }
            if let answer, (200..<300).contains(answer.status) {
                delayMilliseconds = 50
            } else {
                delayMilliseconds = min(1000, delayMilliseconds * 2)
            }
            try? await Task.sleep(for: .milliseconds(delayMilliseconds))
        }
    }

    /// Tries each target in turn; stops at the first answer that is not a redirect.
    private func askOverPeers(_ request: ClientRequest, targets: [NodeID], hint: inout NodeID) async -> ClientAnswer? {
        for target in targets {
            guard
                let response = try? await transport.forward(
                    request.forwardPayload, to: target, timeout: .milliseconds(Int64(config.commitTimeoutMilliseconds)))
            else { continue }
            let answer = ClientAnswer(forwardedStatus: response.status, body: response.payload)
            if answer.status == 503, let leader = Self.leaderHint(in: answer.body), leader != target {
                hint = leader
                continue
            }
            return answer
        }
        return nil
    }

    /// The `--join` path: learn every member's peer address first (so this node can answer the
    /// leader, whose messages it answers on its own outbound links), then ask over HTTP.
    private func askOverHTTP(_ joinURL: String) async -> ClientAnswer? {
        await learnPeers(from: joinURL)
        let body =
            "{\"node_id\":\(config.nodeID),\"peer_address\":\"\(config.peerListen)\",\"http_address\":\"\(config.httpListen)\",\"incarnation\":\"\(ClusterRoutes.incarnationText(raft.incarnation))\"}"
        var request = HTTPClientRequest(url: "\(joinURL)/api/cluster/members")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        // With tokens on, the cluster being joined asks for an admin token: this node's own.
        if let token = config.tokens?.token(for: .admin) {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        request.body = .bytes(ByteBuffer(string: body))
        guard let response = try? await http.client.execute(request, timeout: .seconds(15)),
            let bytes = try? await response.body.collect(upTo: 1 << 20)
        else { return nil }
        return ClientAnswer(status: Int(response.status.code), body: Array(bytes.readableBytesView))
    }

    /// Reads `GET /api/cluster` at `url` and dials every member it lists.
    private func learnPeers(from url: String) async {
        var request = HTTPClientRequest(url: "\(url)/api/cluster")
        if let token = config.tokens?.token(for: .read) {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        guard
            let response = try? await http.client.execute(request, timeout: .seconds(5)),
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

    /// The `leader_hint` of an error body, if it has one.
    static func leaderHint(in body: [UInt8]) -> NodeID? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        return (object["leader_hint"] as? NSNumber)?.uint64Value
    }
}

extension RaftStatus {
    /// No cluster was ever founded in this node's log: a new data directory, or one restored
    /// from a backup (a base snapshot with an empty membership and nothing after it).
    var isUnfounded: Bool { lastIndex == firstIndex - 1 && configuration.members.isEmpty }
}
