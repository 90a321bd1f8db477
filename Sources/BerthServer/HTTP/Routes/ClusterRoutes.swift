import BerthRaft
import BerthStorage
import Foundation
import HTTPTypes
import Hummingbird

/// `POST /api/cluster/members` body.
struct AddMemberBody: Decodable {
    var nodeID: UInt64
    var peerAddress: String
    var httpAddress: String
    /// The node's incarnation (its data directory's id) as 16 hex digits, as `/api/cluster`
    /// shows it; when absent, the leader uses the one the node's hello gave.
    var incarnation: String?

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case peerAddress = "peer_address"
        case httpAddress = "http_address"
        case incarnation
    }
}

/// `POST /api/cluster/transfer-leadership` body.
struct TransferBody: Decodable {
    var target: UInt64
}

/// `/api/cluster…`: status, the Raft log, leadership transfer and drain (spec §7).
struct ClusterRoutes {
    let node: BerthNode

    func register(on router: Router<some RequestContext>) {
        router.get("/api/cluster") { _, _ in try await clusterStatus() }
        router.get("/api/cluster/raft-log") { request, _ in try await raftLog(request) }
        router.get("/api/cluster/snapshot") { _, _ in try await backup() }
        router.post("/api/cluster/transfer-leadership") { request, _ in
            let body = try await decodeJSONBody(TransferBody.self, from: request)
            return JSONResponse.make(await node.submit(.transferLeadership(target: body.target)))
        }
        router.post("/api/cluster/members") { request, _ in
            let body = try await decodeJSONBody(AddMemberBody.self, from: request)
            var incarnation: Incarnation?
            if let text = body.incarnation {
                guard let value = UInt64(text, radix: 16), value != 0, text.count <= 16 else {
                    throw APIError.badRequest("incarnation must be 1–16 hex digits, not 0", field: "incarnation")
                }
                incarnation = value
            }
            return JSONResponse.make(
                await node.submit(
                    .addMember(
                        nodeID: body.nodeID, peerAddress: body.peerAddress, httpAddress: body.httpAddress,
                        incarnation: incarnation)))
        }
        router.delete("/api/cluster/members/:id") { _, context in
            guard let id = UInt64(try context.parameters.require("id")) else {
                throw APIError.badRequest("member id must be an integer", field: "id")
            }
            return JSONResponse.make(await node.submit(.removeMember(nodeID: id)))
        }
        router.post("/api/cluster/drain") { _, _ in
            let handedTo = await node.drain()
            return JSONResponse.make(
                .ok, ["draining": true, "node_id": node.config.nodeID, "leadership_handed_to": handedTo])
        }
    }

    /// `berth snapshot save`: after a linearizable read barrier (so the copy holds every write
    /// acknowledged before the request), a consistent copy of the state machine in a
    /// `BackupFile` (applied index and term, cluster id, CRC-32C).
    private func backup() async throws -> Response {
        try await node.awaitLinearizableRead()
        let state = node.raft.state
        let copy = try await Task.detached { try state.snapshotData() }.value
        let file = BackupFile(
            applied: copy.applied, clusterID: node.config.clusterID,
            createdAtMs: UInt64(max(0, Date().timeIntervalSince1970 * 1000)), payload: copy.data)
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        headers[HTTPField.Name("Berth-Applied-Index")!] = "\(copy.applied.index)"
        headers[HTTPField.Name("Berth-Applied-Term")!] = "\(copy.applied.term)"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.encode())))
    }

    private func clusterStatus() async throws -> Response {
        let status = try await node.status()
        var nodes: [[String: Any?]] = []
        for id in status.configuration.members.sorted() {
            let alive = id == node.config.nodeID ? true : await node.transport.isConnected(id)
            var entry: [String: Any?] = [
                "node_id": id,
                "address": node.transport.httpAddress(of: id),
                "peer_address": id == node.config.nodeID
                    ? node.config.peerListen.description : node.transport.peerAddress(of: id)?.description,
                "is_alive": alive,
                "voter": status.configuration.voters.contains(id),
                "incarnation": status.configuration.incarnation(of: id).map(Self.incarnationText),
            ]
            if let foreign = status.foreignIncarnations[id] {
                // It lost its disk: what it says does not count until it is re-admitted.
                entry["unadmitted_incarnation"] = Self.incarnationText(foreign)
            }
            if id != node.config.nodeID {
                entry["dropped_frames"] = await node.transport.droppedFrames(to: id)
            }
            if let progress = status.progress[id] {
                entry["match_index"] = progress.match
                entry["replication"] = progress.state
            }
            nodes.append(entry)
        }
        return JSONResponse.make(
            .ok,
            [
                "node_id": status.id,
                "incarnation": Self.incarnationText(node.raft.incarnation),
                "role": status.role.rawValue,
                "current_term": status.term,
                "leader_id": status.leader == .none ? nil : status.leader,
                "leader_address": status.leader == .none ? nil : node.transport.httpAddress(of: status.leader),
                "commit_index": status.commit,
                "last_applied": status.applied,
                "log_length": status.lastIndex,
                "first_index": status.firstIndex,
                "cluster_id": node.config.clusterID,
                "draining": node.isDraining,
                "nodes": nodes,
            ])
    }

    /// Incarnations are random 64-bit values: shown as 16 hex digits, which JSON numbers could
    /// not carry exactly.
    static func incarnationText(_ incarnation: Incarnation) -> String {
        let digits = String(incarnation, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private func raftLog(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let from =
            try query["from"].map { text -> LogIndex in
                guard let value = LogIndex(String(text)) else {
                    throw APIError.badRequest("from must be an index", field: "from")
                }
                return value
            } ?? 1
        let limit =
            try query["limit"].map { text -> Int in
                guard let value = Int(String(text)), (1...1000).contains(value) else {
                    throw APIError.badRequest("limit must be 1–1000", field: "limit")
                }
                return value
            } ?? 100
        let page = try await node.raft.entries(from: from, limit: limit).get()
        let entries: [[String: Any?]] = page.entries.map { entry in
            var item: [String: Any?] = ["index": entry.index, "term": entry.term]
            switch entry.payload {
            case .empty:
                item["type"] = "empty"
            case .command(let bytes):
                item["type"] = "command"
                item["command"] =
                    (try? JSONSerialization.jsonObject(with: Data(bytes))) ?? String(decoding: bytes, as: UTF8.self)
            case .configChange(let change):
                item["type"] = "config_change"
                switch change {
                case .addLearner(let id, let incarnation):
                    item["change"] = ["add_learner": id]
                    item["incarnation"] = Self.incarnationText(incarnation)
                case .rejoin(let id, let incarnation):
                    item["change"] = ["rejoin": id]
                    item["incarnation"] = Self.incarnationText(incarnation)
                case .promote(let id): item["change"] = ["promote": id]
                case .remove(let id): item["change"] = ["remove": id]
                }
            }
            return item
        }
        return JSONResponse.make(.ok, ["first_index": page.first, "last_index": page.last, "entries": entries])
    }
}
